import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import getRawBody from 'raw-body';
import type { Request, Response } from 'express';
import { AuthUser, bearerToken, JwtVerifier } from '@app/auth';
import { HttpMetricsMiddleware, RequestLoggingMiddleware } from '@app/observability';
import { UploadThrottleFilter } from '../security/upload-throttle.filter';
import { UploadThrottleGuard } from '../security/upload-throttle.guard';
import { CreateUploadDto } from './upload.dto';
import { UploadsController } from './uploads.controller';

/** The route it serves: `POST /api/v2/upload` with no query string. */
export const UPLOAD_FAST_PATH_URL = '/api/v2/upload';
/** The JSON body limit of the api, in bytes: its body parsers' (app.factory passes it to `applyHttpDefaults`) and this. */
export const JSON_BODY_LIMIT = 1024 * 1024;
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
/** What Express puts on `req.route` for the route, which the HTTP metrics label it by. */
const ROUTE = { path: UPLOAD_FAST_PATH_URL, methods: { post: true } };

type Next = (err?: unknown) => void;
type UploadRequest = IncomingMessage & {
  user?: AuthUser;
  id?: string;
  body?: unknown;
  rawBody?: Buffer;
  route?: unknown;
};

/** What body-parser makes of an error reading the body (http-errors' createError(400, e)): raw-body's keep their status. */
function readFailure(e: unknown): unknown {
  const err = e instanceof Error ? e : new Error(String(e));
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400
    ? err
    : Object.assign(err, { status: 400, statusCode: 400, expose: true });
}

/** What body-parser's JSON parser answers for a body that is not JSON (the same 400 `invalid_json` follows). */
function parseFailure(e: unknown): Error {
  return Object.assign(new SyntaxError(e instanceof Error ? e.message : 'invalid JSON'), {
    status: 400,
    statusCode: 400,
    expose: true,
    type: 'entity.parse.failed',
  });
}

/**
 * `POST /api/v2/upload` served ahead of Express's router and Nest's route pipeline (decisions.md #33): the most frequent
 * request spent about a quarter of its CPU in them (route matching over every route, body-parser, the execution
 * context, guards and pipes consumers). Mounted after the request id and before the body parsers (`applyHttpDefaults`
 * `beforeBodyParsers`; helmet's headers are already set), it serves a request only when the framework would have
 * served it the same way with nothing to say:
 * - the exact URL, a JSON body (utf-8) with a Content-Length within the parser's limit, no Content-Encoding;
 * - a bearer token `JwtVerifier` accepts (what the global JwtAuthGuard checks);
 * - a body `CreateUploadDto.validBody` accepts (the DTO's decorators, checked without class-validator).
 * Anything else goes on to the framework (`next()`), with the body it read, if any, in `req.body` (the parsers skip a
 * read request), so refusals keep their answers: 401, 400 with the validation messages, 413, 415. A body that is not
 * JSON is body-parser's error (400 `invalid_json`).
 *
 * On the fast path the request goes through the same pieces the framework would run: the request logging and HTTP
 * metrics middleware, the route's guard (UploadThrottleGuard), the controller's `create`, its exception filter
 * (UploadThrottleFilter, then the app's AllExceptionsFilter), and Express's `res.json`. upload-fast-path.spec.ts holds
 * the route's metadata (guards, filters, pipes, interceptors, status code) to what this serves, and the e2e tests
 * compare its answers with the framework's (the same request with a query string goes through the router).
 */
export class UploadFastPath {
  /**
   * The app's own instances (`app.get`: the controller is not injectable into a provider); `metrics` undefined when the
   * app records no HTTP metrics (MetricsModule's `httpMetrics: false`).
   */
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly controller: UploadsController,
    private readonly guard: UploadThrottleGuard,
    private readonly filter: UploadThrottleFilter,
    private readonly logging: RequestLoggingMiddleware,
    private readonly metrics: HttpMetricsMiddleware | undefined,
  ) {}

  /** The middleware (`applyHttpDefaults`'s `beforeBodyParsers`). */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    if (req.method !== 'POST' || req.url !== UPLOAD_FAST_PATH_URL) return next();
    const h = req.headers;
    const length = Number(h['content-length']);
    if (
      !PLAIN_JSON.test(h['content-type'] ?? '') ||
      h['content-encoding'] !== undefined ||
      h['transfer-encoding'] !== undefined
    )
      return next();
    if (!Number.isSafeInteger(length) || length < 1 || length > JSON_BODY_LIMIT) return next();
    const token = bearerToken(h.authorization);
    if (token === null) return next();
    const check = this.verifier.check(token);
    if (!('user' in check)) return next();
    getRawBody(req, { length, limit: JSON_BODY_LIMIT })
      .then(
        (bytes) => this.serve(req as UploadRequest, res, next, token, bytes),
        (e: unknown) => {
          // body-parser's way: read off the rest of the request, then its error (400, 413, ...)
          finished(req, () => next(readFailure(e)));
          req.resume();
        },
      )
      .catch(next); // a throw of the code above goes to the framework's error handler, as a route's would
  };

  private serve(req: UploadRequest, res: ServerResponse, next: Next, token: string, bytes: Buffer): void {
    // the guard checks the token once the body is in: one that expired while a slow body came goes on to be refused
    const check = this.verifier.check(token);
    if (!('user' in check)) return next();
    const user = check.user;
    req.rawBody = bytes; // as the app's JSON parser keeps it (NestFactory's rawBody)
    let body: unknown;
    try {
      // body-parser decodes with iconv-lite, which drops a byte order mark
      const text = bytes.toString('utf8');
      const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      body = json === '' ? {} : JSON.parse(json); // body-parser's answer to an empty body: {}
    } catch (e) {
      return next(parseFailure(e));
    }
    req.body = body;
    const dto =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? CreateUploadDto.validBody(body as Record<string, unknown>)
        : undefined;
    if (!dto) return next();
    this.respond(req, res, next, user, dto);
  }

  /** What the framework runs for the route, from the logging middleware on. */
  private respond(
    req: UploadRequest,
    res: ServerResponse,
    next: Next,
    user: AuthUser,
    dto: CreateUploadDto,
  ): void {
    const route = (): void => {
      req.route = ROUTE;
      req.user = user; // as JwtAuthGuard does
      const context = new ExecutionContextHost([req, res, next], UploadsController, this.controller.create);
      const fail = (e: unknown): void => void this.filter.catch(e, context).catch(next);
      try {
        this.guard.canActivate(context);
        res.statusCode = 201; // the route's @HttpCode, before the handler (which answers 200 for a known document)
        this.controller
          .create(dto, user, req.id ?? 'unknown', req as unknown as Request, res as Response)
          .then((out) => {
            try {
              (res as Response).json(out);
            } catch (e) {
              fail(e);
            }
          }, fail);
      } catch (e) {
        fail(e);
      }
    };
    this.logging(req, res, () => (this.metrics ? this.metrics.use(req, res, route) : route()));
  }
}
