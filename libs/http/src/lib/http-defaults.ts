import type { INestApplication } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { bodyParserErrorMiddleware } from './body-parser-errors';
import { requestIdMiddleware } from './request-id.middleware';
import { createValidationPipe } from './validation.pipe';

export interface HttpDefaultsOptions {
  /** Largest JSON (and urlencoded) body accepted: bytes, or in `bytes` syntax ('1mb', '100kb'). Larger -> 413. */
  bodyLimit: string | number;
  /**
   * Raw (Buffer in `req.body`) parser. Default: `application/octet-stream` up to `bodyLimit`.
   * `false` leaves such bodies unread (for handlers that stream `req` themselves).
   */
  raw?: { type?: string | string[]; limit?: string | number } | false;
  /**
   * Middleware mounted after the request id and before the body parsers: a route served ahead of the router (it calls
   * `next()` for every request it does not serve; a body it read is left in `req.body`, which the parsers then skip).
   */
  beforeBodyParsers?: ((req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void)[];
}

/**
 * Applies our HTTP conventions to an Express-based Nest app. Call it after `NestFactory.create` and
 * before `app.listen()` / `app.init()`:
 * - `x-request-id` middleware (first, so every response and log line has the id), then `beforeBodyParsers`,
 * - body parsers with limits (their errors mapped to ApiErrors): JSON (non-strict, so a non-object body reaches the pipe and gets a clear
 *   400), urlencoded, raw; `req.rawBody` is kept when the app was created with `{ rawBody: true }`,
 * - the global `AllExceptionsFilter` and `createValidationPipe()`,
 * - no `x-powered-by` header.
 */
export function applyHttpDefaults(app: INestApplication, opts: HttpDefaultsOptions): void {
  const adapter = app.getHttpAdapter();
  if (adapter.getType() !== 'express')
    throw new Error('applyHttpDefaults supports the Express platform only');
  const expressApp = app as NestExpressApplication;

  expressApp.use(requestIdMiddleware);
  for (const handler of opts.beforeBodyParsers ?? []) expressApp.use(handler);
  expressApp.useBodyParser('json', { limit: opts.bodyLimit, strict: false });
  expressApp.useBodyParser('urlencoded', { limit: opts.bodyLimit, extended: true });
  if (opts.raw !== false) {
    expressApp.useBodyParser('raw', {
      type: opts.raw?.type ?? 'application/octet-stream',
      limit: opts.raw?.limit ?? opts.bodyLimit,
    });
  }
  expressApp.use(bodyParserErrorMiddleware);
  expressApp.disable('x-powered-by');
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(createValidationPipe());
}
