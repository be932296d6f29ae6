import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ApiError, ErrorBody } from './api-error';
import { httpErrorToApiError } from './body-parser-errors';
import { codeForStatus, reasonPhrase } from './error-codes';
import { REQUEST_ID_HEADER, requestIdOf, resolveRequestId } from './request-id.middleware';
import { MissingBodyError } from './validation.pipe';

type ErrorFields = Omit<ErrorBody['error'], 'request_id'>;

const INTERNAL: ErrorFields = { status: 500, code: 'internal_error', message: 'Internal server error' };

function requestHasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

function fromHttpException(e: HttpException, req: Request): ErrorFields {
  const status = e.getStatus();
  if (e instanceof MissingBodyError && requestHasBody(req))
    return { status: 415, code: 'unsupported_media_type', message: 'Content-Type must be application/json' };
  if (e instanceof ApiError)
    return {
      status,
      code: e.code,
      message: e.message,
      ...(e.details === undefined ? {} : { details: e.details }),
    };
  // Nest's router answers unknown routes with NotFoundException("Cannot GET /path?query").
  if (e instanceof NotFoundException && /^Cannot [A-Z]+ \//.test(e.message))
    return { status, code: 'not_found', message: `Route not found: ${req.method} ${req.path}` };

  const response = e.getResponse();
  if (typeof response === 'string') return { status, code: codeForStatus(status), message: response };
  const r = response as Record<string, unknown>;
  const message =
    typeof r['message'] === 'string'
      ? r['message']
      : Array.isArray(r['message'])
        ? r['message'].map(String).join('; ')
        : e.message || reasonPhrase(status);
  const code = typeof r['code'] === 'string' ? r['code'] : codeForStatus(status);
  // Objects that are not Nest's { statusCode, message, error } (e.g. a terminus health result) become details.
  const details = r['details'] !== undefined ? r['details'] : 'message' in r ? undefined : r;
  return { status, code, message, ...(details === undefined ? {} : { details }) };
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return `non-Error thrown: ${JSON.stringify(e)}`;
  } catch {
    return `non-Error thrown: ${String(e)}`;
  }
}

/**
 * Global filter: every error becomes `{ error: { status, code, message, details?, request_id } }`.
 * HttpExceptions keep their status (ApiError its code); 4xx body-parser/express errors map by status
 * and type; anything else is a 500 `internal_error` with a generic message, logged in full, never echoed.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();

    const known = exception instanceof HttpException ? exception : httpErrorToApiError(exception);
    const fields = known ? fromHttpException(known, req) : INTERNAL;

    if (fields.status >= 500) {
      this.logger.error(
        `${req.method} ${req.path} -> ${fields.status}: ${describe(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    }
    if (res.headersSent) {
      // Too late for an error body; cut the response so the client sees a failure, not a truncated success.
      res.destroy();
      return;
    }
    let requestId = requestIdOf(req);
    if (!requestId) {
      requestId = resolveRequestId(undefined);
      res.setHeader(REQUEST_ID_HEADER, requestId);
    }
    const body: ErrorBody = { error: { ...fields, request_id: requestId } };
    res.status(fields.status).json(body);
  }
}
