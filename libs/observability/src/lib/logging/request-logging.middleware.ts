import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Level, Logger } from 'pino';
import { Store, storage } from 'nestjs-pino/storage';
import { correlationStorage } from './correlation';
import { ensureRequestId } from './correlation.middleware';

/** How `requestLoggingMiddleware` logs: the logger whose serializers turn `req`, `res` and `err` into their fields. */
export interface RequestLoggingOptions {
  /** Requests whose path (query string ignored) matches are not logged on completion. */
  quiet: (path: string) => boolean;
  /** The level of a request's completion line. */
  level: (req: IncomingMessage, res: ServerResponse, err?: Error) => Level | 'silent';
}

type Req = IncomingMessage & { id?: unknown; originalUrl?: string; log?: Logger };
type Res = ServerResponse & { log?: Logger; err?: Error };

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * One middleware for what pino-http, nestjs-pino's binding middleware and the correlation middleware did in three:
 *  - the request's logger: a child of `logger` bound to `req` (its serializer), `req_id` and `correlation_id` (the
 *    request id, see `ensureRequestId`), as `req.log` and `res.log`;
 *  - the rest of the request runs inside it (nestjs-pino's store: Nest `Logger` lines are written through it) and
 *    inside its correlation id (`currentCorrelationId()`);
 *  - one completion line per request, as pino-http wrote it: `res` (its serializer), `responseTime` (ms), and
 *    `request completed`, `request aborted`, or `request errored` with `err` for an error or a 5xx.
 * One child logger per request instead of pino-http's two, and no per-request options work.
 */
export function requestLoggingMiddleware(logger: Logger, opts: RequestLoggingOptions) {
  return function requestLogging(req: Req, res: Res, next: () => void): void {
    const start = Date.now();
    const id = ensureRequestId(req, res);
    const log = logger.child({ req, req_id: id, correlation_id: id });
    req.log = log;
    res.log = log;
    let done = false;
    const complete = (err?: Error): void => {
      if (done) return;
      done = true;
      const level = opts.level(req, res, err);
      if (level === 'silent') return;
      const responseTime = Date.now() - start;
      const error = err ?? res.err ?? (res.statusCode >= 500 ? new Error(`failed with status code ${res.statusCode}`) : undefined);
      if (error) log[level]({ res, err: error, responseTime }, 'request errored');
      else log[level]({ res, responseTime }, !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted');
    };
    // 'close' follows 'finish' (in the next tick) and comes alone when the client went away first
    if (!opts.quiet(pathOf(req.originalUrl ?? req.url))) res.once('close', () => complete());
    // also on quiet paths: an 'error' event without a listener would end the process
    res.on('error', complete);
    storage.run(new Store(log), () => correlationStorage.run({ correlationId: id }, next));
  };
}
