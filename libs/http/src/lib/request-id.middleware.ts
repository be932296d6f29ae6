import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Returns the incoming id when it is sane (1..128 chars of `[A-Za-z0-9._:-]`), else a fresh UUID. */
export function resolveRequestId(incoming: unknown): string {
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The id `requestIdMiddleware` gave this request, or a sane `x-request-id` header, else undefined. */
export function requestIdOf(req: IncomingMessage): string | undefined {
  const id: unknown = (req as IncomingMessage & { id?: unknown }).id;
  if (typeof id === 'string' && id !== '') return id;
  const header = req.headers[REQUEST_ID_HEADER];
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : undefined;
}

/**
 * Express/Connect middleware: accepts a sane incoming `x-request-id` or generates a UUID, and sets it
 * as `req.id`, `req.headers['x-request-id']` and the `x-request-id` response header. Register it
 * before the logger (which reuses `req.id`) and before the body parsers.
 */
export function requestIdMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const id = resolveRequestId(req.headers[REQUEST_ID_HEADER]);
  (req as IncomingMessage & { id?: string }).id = id;
  req.headers[REQUEST_ID_HEADER] = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  next();
}
