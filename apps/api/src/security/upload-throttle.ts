import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { AuthUser } from '@app/auth';
import { ApiError } from '@app/http';
import { RateLimitHit, RateLimitRequest, RateLimitStore } from '@app/jobs';

export interface UploadThrottleOptions {
  /** Uploads a user may start per window (UPLOAD_RATE_LIMIT). */
  limit: number;
  /** Window length in seconds (UPLOAD_RATE_WINDOW_SEC). */
  windowSec: number;
}

export const UPLOAD_THROTTLE_OPTIONS = Symbol('UPLOAD_THROTTLE_OPTIONS');

/** Counter keys remembered by tracker (the oldest goes first). */
const KEYS_REMEMBERED = 10_000;

const UPLOAD_HIT = Symbol('uploadHit');

/**
 * One upload request's hit of the throttle, put on the request by UploadThrottleGuard. The upload statement counts it
 * (`count`); a request that fails before that statement is counted on its own by UploadThrottleFilter, so every
 * request that passed authentication counts once.
 */
export class UploadHit {
  /** Set once the hit was handed to a statement (counted or not: a failed statement is not retried). */
  attempted = false;
  result?: RateLimitHit;

  constructor(
    readonly request: RateLimitRequest,
    private readonly refuse: (hit: RateLimitHit) => Error,
  ) {}

  /** Runs the statement that counts the hit; a refused hit throws the 429. */
  async count<T extends { hit: RateLimitHit }>(statement: (request: RateLimitRequest) => Promise<T>): Promise<T> {
    this.attempted = true;
    const out = await statement(this.request);
    this.result = out.hit;
    if (out.hit.isBlocked) throw this.refuse(out.hit);
    return out;
  }
}

/**
 * The rate limit of `POST /api/v2/upload`, counted per user: the verified JWT `sub` that JwtAuthGuard put on the
 * request, the client IP when there is none. Counters live in PostgreSQL (`rate_limits`), so every api process behind
 * one port enforces one limit per user: a fixed window per key; over the limit the key is refused for the window's
 * length. Keys, headers and the 429 are those of the @nestjs/throttler guard this replaced (its storage was the same
 * table), so processes of both versions share one count.
 */
@Injectable()
export class UploadThrottle {
  readonly limit: number;
  readonly windowMs: number;
  private readonly keys = new Map<string, string>();

  constructor(
    @Inject(UPLOAD_THROTTLE_OPTIONS) o: UploadThrottleOptions,
    private readonly store: RateLimitStore,
  ) {
    this.limit = o.limit;
    this.windowMs = o.windowSec * 1000;
  }

  /** The hit of this request: the throttler's key (`default:` + sha256 of route and tracker). */
  newHit(req: IncomingMessage & { user?: AuthUser; ip?: unknown }): UploadHit {
    const tracker = req.user?.userId ? `user:${req.user.userId}` : `ip:${typeof req.ip === 'string' ? req.ip : 'unknown'}`;
    return new UploadHit({ key: this.keyOf(tracker), windowMs: this.windowMs, limit: this.limit, blockMs: this.windowMs }, (hit) =>
      this.refusal(hit),
    );
  }

  private keyOf(tracker: string): string {
    let key = this.keys.get(tracker);
    if (key === undefined) {
      key = `default:${createHash('sha256').update(`UploadsController-create-default-${tracker}`).digest('hex')}`;
      if (this.keys.size >= KEYS_REMEMBERED) this.keys.delete(this.keys.keys().next().value as string);
      this.keys.set(tracker, key);
    }
    return key;
  }

  /** Counts `hit` in a statement of its own (for a request that never reached its upload statement). */
  countAlone(hit: UploadHit): Promise<unknown> {
    return hit.count(async (r) => ({ hit: await this.store.hit(r.key, r.windowMs, r.limit, r.blockMs) }));
  }

  /** Over the limit: 429 `rate_limited` in the common error shape. */
  refusal(hit: RateLimitHit): ApiError {
    const windowSec = Math.round(this.windowMs / 1000);
    return new ApiError(
      429,
      'rate_limited',
      `Too many uploads: at most ${this.limit} every ${windowSec} s; retry after ${hit.timeToBlockExpire} s`,
      { limit: this.limit, window_sec: windowSec, retry_after_sec: hit.timeToBlockExpire },
    );
  }

  /** `Retry-After` (seconds) on a refusal; `X-RateLimit-Limit`, `-Remaining` and `-Reset` otherwise. */
  setHeaders(res: ServerResponse, hit: RateLimitHit): void {
    if (res.headersSent) return;
    if (hit.isBlocked) {
      res.setHeader('Retry-After', hit.timeToBlockExpire);
      return;
    }
    res.setHeader('X-RateLimit-Limit', this.limit);
    res.setHeader('X-RateLimit-Remaining', Math.max(0, this.limit - hit.totalHits));
    res.setHeader('X-RateLimit-Reset', hit.timeToExpire);
  }
}

/** The request's hit, put there by UploadThrottleGuard (undefined when it did not run: a guard before it refused). */
export function uploadHitOf(req: IncomingMessage): UploadHit | undefined {
  return (req as IncomingMessage & { [UPLOAD_HIT]?: UploadHit })[UPLOAD_HIT];
}

export function setUploadHit(req: IncomingMessage, hit: UploadHit): void {
  (req as IncomingMessage & { [UPLOAD_HIT]?: UploadHit })[UPLOAD_HIT] = hit;
}
