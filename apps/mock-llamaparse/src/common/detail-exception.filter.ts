import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { httpErrorToApiError } from '@app/http';
import { DetailException } from './detail.exception';

function detailOf(body: unknown, fallback: string): unknown {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if ('detail' in record) return record.detail;
    const message = record.message;
    if (Array.isArray(message)) return message.map(String).join('; ');
    if (typeof message === 'string') return message;
  }
  return fallback;
}

/**
 * Every error leaves as FastAPI does: `{"detail": ...}` with the HTTP status. Terminus health results pass
 * through unchanged; body-parser's 4xx errors keep their status with a safe message; anything else that is
 * not an HttpException is a 500 with a generic detail (and is logged).
 */
@Catch()
export class DetailExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(caught: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    // body-parser's own 4xx errors (too large, bad encoding or charset, malformed) are not HttpExceptions:
    // without this they answered 500
    const exception = caught instanceof HttpException ? caught : (httpErrorToApiError(caught) ?? caught);
    if (!(exception instanceof HttpException)) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({ detail: 'Internal Server Error' });
      return;
    }
    const status = exception.getStatus();
    const body = exception.getResponse();
    if (exception instanceof DetailException)
      for (const [name, value] of Object.entries(exception.headers)) res.setHeader(name, value);
    // @nestjs/terminus answers 503 with its own result object ({status, info, error, details}): keep it.
    if (body && typeof body === 'object' && 'status' in body && 'details' in body) {
      res.status(status).json(body);
      return;
    }
    res.status(status).json({ detail: detailOf(body, exception.message) });
  }
}
