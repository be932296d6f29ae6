import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { OpenAIApiError, invalidJson, invalidRequest, payloadTooLarge, serverError, unsupportedMediaType } from './openai-error';
import { sendOpenAIError } from './openai-exception.filter';
import { getOutcome } from './response-outcome';
import { StatsService, outcomeForStatus } from './stats.service';

const JSON_TYPES = ['application/json', 'application/*+json'];

/** `openai-organization`: the organization the (mock) key belongs to; the rate-limit messages name it too. */
export const OPENAI_ORGANIZATION = 'org-mock';
/** `openai-version`: the API version OpenAI reports on every response. */
export const OPENAI_VERSION = '2020-10-01';

/** A fresh `x-request-id`, shaped like OpenAI's: `req_` and 32 hex digits. */
export function newRequestId(): string {
  return `req_${randomUUID().replace(/-/g, '')}`;
}

/**
 * Sets `openai-processing-ms` (time since the request arrived) just before the head is written, whichever
 * path writes it: a controller, the exception filter, the 415/400/413 answers below, or a 404.
 */
function stampProcessingTime(res: Response, startedAt: bigint): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: Response, ...args: unknown[]) {
    if (!this.headersSent) {
      const ms = Number((process.hrtime.bigint() - startedAt) / 1_000_000n);
      this.setHeader('openai-processing-ms', String(ms));
    }
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as typeof res.writeHead;
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
}

/** body-parser's errors carry `type` and `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
}

function bodyError(err: unknown, limit: string): OpenAIApiError {
  const { type, status } = (err ?? {}) as BodyParserError;
  if (type === 'entity.parse.failed') return invalidJson();
  if (type === 'entity.too.large') return payloadTooLarge(limit);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return unsupportedMediaType(type);
  if (typeof status === 'number' && status >= 400 && status < 500) return invalidRequest('Could not read the request body.');
  return serverError();
}

/**
 * Express-level plumbing in front of the Nest routes, in order:
 * 1. x-request-id on every response; on /v1 OpenAI's openai-organization, openai-version and
 *    openai-processing-ms, the x-ratelimit-* headers and the stats hook;
 * 2. a request with a body that is not JSON -> 415 in OpenAI's shape;
 * 3. the JSON body parser with `bodyLimit`;
 * 4. body-parser failures (malformed JSON, too large) -> 400/413 in OpenAI's shape, never 500.
 */
export function installHttpPipeline(app: NestExpressApplication, bodyLimit: string): void {
  const rateLimit = app.get(RateLimitService);
  const stats = app.get(StatsService);

  app.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader('x-request-id', newRequestId());
    if (isApiPath(req.path)) {
      res.setHeader('openai-organization', OPENAI_ORGANIZATION);
      res.setHeader('openai-version', OPENAI_VERSION);
      stampProcessingTime(res, process.hrtime.bigint());
      for (const [name, value] of Object.entries(rateLimit.headers())) res.setHeader(name, value);
      res.once('finish', () => stats.recordResponse(res.statusCode, getOutcome(res) ?? outcomeForStatus(res.statusCode)));
      res.once('close', () => {
        if (!res.writableFinished) stats.recordResponse(res.statusCode, 'client_closed');
      });
    }
    next();
  });

  app.use((req: Request, res: Response, next: NextFunction) => {
    if (hasBody(req) && !req.is(JSON_TYPES)) return sendOpenAIError(res, unsupportedMediaType(req.headers['content-type']));
    next();
  });

  app.useBodyParser('json', { limit: bodyLimit, type: JSON_TYPES });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    sendOpenAIError(res, bodyError(err, bodyLimit));
  });
}
