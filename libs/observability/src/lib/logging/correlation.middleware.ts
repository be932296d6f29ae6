import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER, requestIdOf } from '@app/http';
import { correlationStorage } from './correlation';

/**
 * The request's id: `req.id` (set by @app/http's request-id middleware from `x-request-id` or a UUID),
 * else a sane `x-request-id` header, else a new UUID, which then becomes `req.id` and is echoed in the
 * `x-request-id` response header as that middleware would have done.
 */
export function ensureRequestId(req: IncomingMessage, res: ServerResponse): string {
  const existing = requestIdOf(req);
  if (existing) return existing;
  const id = randomUUID();
  (req as IncomingMessage & { id?: string }).id = id;
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * Runs the rest of the request inside its correlation id (the request id, see `ensureRequestId`), so
 * code handling it can read `currentCorrelationId()` and every log line carries `correlation_id`.
 */
export function correlationMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  correlationStorage.run({ correlationId: ensureRequestId(req, res) }, next);
}
