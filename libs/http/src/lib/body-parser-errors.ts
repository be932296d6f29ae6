import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error';
import { codeForStatus, reasonPhrase } from './error-codes';

/** Express/body-parser errors are `http-errors`: `status === statusCode`, plus a `type` for body-parser's. */
interface ExpressHttpError {
  status: number;
  statusCode: number;
  type?: unknown;
  limit?: unknown;
}

function isExpressHttpError(e: unknown): e is ExpressHttpError {
  if (typeof e !== 'object' || e === null) return false;
  const { status, statusCode } = e as Partial<ExpressHttpError>;
  return typeof status === 'number' && status === statusCode;
}

/**
 * Maps a 4xx error raised by express or body-parser (malformed JSON, too large, bad charset or
 * encoding, ...) to an ApiError with a safe message (the raw body and parser message are never echoed).
 * Anything else, including 5xx from libraries, is not a client error: returns undefined.
 */
export function httpErrorToApiError(e: unknown): ApiError | undefined {
  if (!isExpressHttpError(e) || e.status < 400 || e.status > 499) return undefined;
  switch (e.type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'Request body is not valid JSON');
    case 'entity.too.large':
      return new ApiError(
        413,
        'payload_too_large',
        typeof e.limit === 'number'
          ? `Request body exceeds the ${e.limit}-byte limit`
          : 'Request body too large',
      );
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'Unsupported request charset; use utf-8');
    case 'encoding.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'Unsupported Content-Encoding');
    case 'request.size.invalid':
      return new ApiError(400, 'bad_request', 'Request body size does not match Content-Length');
    case 'request.aborted':
      return new ApiError(400, 'request_aborted', 'Request aborted by the client');
    default:
      return new ApiError(e.status, codeForStatus(e.status), reasonPhrase(e.status));
  }
}

/**
 * Express error middleware for right after the body parsers: turns their errors into ApiErrors before
 * Nest's router sees them (Nest would turn a JSON SyntaxError into a BadRequestException echoing the
 * parser's message, which quotes the body).
 */
export function bodyParserErrorMiddleware(
  err: unknown,
  _req: IncomingMessage,
  _res: ServerResponse,
  next: (err?: unknown) => void,
): void {
  next(httpErrorToApiError(err) ?? err);
}
