import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import pino, { type DestinationStream, type Level, type Logger, type LoggerOptions } from 'pino';
import { currentCorrelationId } from './correlation';
import { censorLogObject, serializeRequest, serializeResponse } from './redact';
import type { RequestLoggingOptions } from './request-logging.middleware';

export interface LoggingModuleOptions {
  /** Added to every line as `app` (api, worker, mock-llamaparse, mock-openai). */
  app: string;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  level: string;
  /**
   * Human-readable output through the pino-pretty transport (a worker thread). Default false: JSON lines.
   * Apps pass `process.stdout.isTTY && NODE_ENV !== 'production'`.
   */
  pretty?: boolean;
  /** Where JSON lines go (default stdout). Tests pass a stream that collects them. Ignored when `pretty`. */
  destination?: DestinationStream;
  /** Requests whose path matches are not logged on completion (default: `/health/*` and `/metrics`). */
  quietPath?: (path: string) => boolean;
}

/** `/health`, `/health/*` and `/metrics` (query string ignored). */
export function isQuietPath(path: string): boolean {
  return path === '/metrics' || path === '/health' || path.startsWith('/health/');
}

const pinoSymbols = pino.symbols;
const std = pino.stdSerializers;

/** The levels `LoggingModuleOptions.level` accepts. */
export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Already bound by this logger (the request logger binds it): the mixin must not write it twice. */
function bindsCorrelationId(logger: Logger): boolean {
  const chindings = (logger as unknown as Record<symbol, unknown>)[pinoSymbols.chindingsSym];
  return typeof chindings === 'string' && chindings.includes('"correlation_id":');
}

/** The pino options of an app's root logger: level, `app` base field, redaction, correlation mixin. */
export function pinoLoggerOptions(opts: LoggingModuleOptions): LoggerOptions {
  const base: LoggerOptions = {
    level: opts.level,
    base: { app: opts.app, pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    // redaction: one pass over each log object (see censorLogObject); requests and responses by their serializers
    formatters: { log: (obj: Record<string, unknown>) => censorLogObject(obj) },
    mixin(_merge: object, _level: number, logger: Logger): object {
      const correlationId = currentCorrelationId();
      // a fresh object every call: pino's merge strategy assigns into it
      return correlationId === undefined || bindsCorrelationId(logger) ? {} : { correlation_id: correlationId };
    },
  };
  if (opts.pretty) {
    return {
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: false },
      },
    };
  }
  // JSON lines: level as its label ("info"), which log shippers read without a lookup table
  return { ...base, formatters: { ...base.formatters, level: (label: string) => ({ level: label }) } };
}

/** The app's root pino logger (the one nestjs-pino and the request logging write through). */
export function createAppLogger(opts: LoggingModuleOptions): Logger {
  if (!LOG_LEVELS.includes(opts.level)) {
    throw new Error(`unknown log level "${opts.level}" (one of ${LOG_LEVELS.join(', ')})`);
  }
  const options = pinoLoggerOptions(opts);
  return opts.destination && !opts.pretty ? pino(options, opts.destination) : pino(options);
}

type Req = IncomingMessage & { originalUrl?: string };

/** Express strips a middleware's mount path from `req.url`; `originalUrl` keeps the full one. */
export function originalUrl(req: IncomingMessage): string | undefined {
  return (req as Req).originalUrl ?? req.url;
}

function levelFor(_req: IncomingMessage, res: ServerResponse, err?: Error): Level {
  if (err || res.statusCode >= 500) return 'error';
  return res.statusCode >= 400 ? 'warn' : 'info';
}

/**
 * How requests are logged (see `requestLoggingMiddleware`): through a child of the app's logger whose serializers keep
 * pino-http's fields (`req` and `res` as pino-std-serializers give them, then `sanitizeRequest` / `sanitizeResponse`:
 * `serializeRequest` / `serializeResponse` in one step);
 * the request id (`req.id`, set by @app/http's request-id middleware from `x-request-id` or a UUID) is reused and bound
 * as `req_id` and `correlation_id`; health and metrics requests are not logged on completion; 4xx completes at warn,
 * 5xx at error; signed upload URLs lose their query.
 */
export function requestLogging(logger: Logger, opts: Pick<LoggingModuleOptions, 'quietPath'> = {}): { logger: Logger } & RequestLoggingOptions {
  return {
    logger: logger.child(
      {},
      {
        serializers: {
          req: serializeRequest,
          res: serializeResponse,
          err: std.err,
        },
      },
    ),
    quiet: opts.quietPath ?? isQuietPath,
    level: levelFor,
  };
}

/**
 * Pretty output only when a person watches: LOG_FORMAT=pretty, or `auto` on a terminal outside
 * production. Everything else (pipes, containers, CI) gets JSON lines.
 */
export function wantsPrettyLogs(format: string, opts: { isTTY: boolean; nodeEnv: string }): boolean {
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  return opts.isTTY && opts.nodeEnv !== 'production';
}
