import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { OpenAIApiError, OpenAIErrorBody, routeNotFound, serverError } from './openai-error';
import { outcomeForStatus } from './stats.service';
import { setOutcome } from './response-outcome';

/** Turns any Nest exception into OpenAI's error shape; unknown routes become OpenAI's "Invalid URL". */
export function toOpenAIError(exception: unknown, req: Pick<Request, 'method' | 'originalUrl'>): OpenAIApiError {
  if (exception instanceof OpenAIApiError) return exception;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return routeNotFound(req.method, req.originalUrl);
    if (status >= 500) return serverError();
    const message = messageOf(exception);
    return new OpenAIApiError(status, { message, type: 'invalid_request_error', param: null, code: null }, outcomeForStatus(status));
  }
  return serverError();
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

export function sendOpenAIError(res: Response, err: OpenAIApiError): void {
  setOutcome(res, err.outcome);
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.status(err.getStatus()).json(err.body() satisfies OpenAIErrorBody);
}

@Catch()
export class OpenAIExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('mock-openai');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    if (!(exception instanceof HttpException)) {
      this.logger.error(`Unhandled error on ${req.method} ${req.originalUrl}`, exception instanceof Error ? exception.stack : String(exception));
    }
    if (res.headersSent || res.destroyed) return;
    sendOpenAIError(res, toOpenAIError(exception, req));
  }
}
