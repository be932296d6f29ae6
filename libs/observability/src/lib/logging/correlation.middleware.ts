import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER, requestIdOf } from '@app/http';
import { correlationStorage } from './correlation';

/**
 * Runs the rest of the request inside its correlation id (the request id: `req.id` from @app/http's
 * request-id middleware, else a sane `x-request-id`, else a new UUID which becomes `req.id`), so code
 * handling it can read `currentCorrelationId()` and every log line carries `correlation_id`.
 */
export function correlationMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  let id = requestIdOf(req);
  if (!id) {
    id = randomUUID();
    (req as IncomingMessage & { id?: string }).id = id;
    if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  }
  correlationStorage.run({ correlationId: id }, next);
}
