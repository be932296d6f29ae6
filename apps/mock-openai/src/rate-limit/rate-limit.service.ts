import { Inject, Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '../app.config';
import { rateLimitExceeded, retryAfterHeaders } from '../common/openai-error';
import { TokenBucket, formatResetDuration } from './token-bucket';

/** Optional provider of the current time in ms (tests). */
export const RATE_LIMIT_CLOCK = Symbol('RATE_LIMIT_CLOCK');

export interface RateLimits {
  rpm: number;
  tpm: number;
}

/**
 * Requests-per-minute and tokens-per-minute budgets for the whole mock (one organization), with
 * OpenAI's x-ratelimit-* headers.
 */
@Injectable()
export class RateLimitService {
  private limits: RateLimits;
  private requests: TokenBucket;
  private tokens: TokenBucket;

  private readonly clock: () => number;

  constructor(config: AppConfig, @Optional() @Inject(RATE_LIMIT_CLOCK) clock?: () => number) {
    this.clock = clock ?? Date.now;
    this.configure({ rpm: config.MOCK_OPENAI_RPM, tpm: config.MOCK_OPENAI_TPM });
  }

  /** Sets new limits; both budgets start full. */
  configure(limits: RateLimits): void {
    const now = this.clock();
    this.limits = { ...limits };
    this.requests = new TokenBucket(limits.rpm, now);
    this.tokens = new TokenBucket(limits.tpm, now);
  }

  current(): RateLimits {
    return { ...this.limits };
  }

  /** The six x-ratelimit-* headers for the budgets as they are at `now` (default: the clock's now). */
  headers(now = this.clock()): Record<string, string> {
    return {
      'x-ratelimit-limit-requests': String(this.limits.rpm),
      'x-ratelimit-limit-tokens': String(this.limits.tpm),
      'x-ratelimit-remaining-requests': String(Math.max(0, this.requests.remaining(now))),
      'x-ratelimit-remaining-tokens': String(Math.max(0, this.tokens.remaining(now))),
      'x-ratelimit-reset-requests': formatResetDuration(this.requests.msUntilFull(now)),
      'x-ratelimit-reset-tokens': formatResetDuration(this.tokens.msUntilFull(now)),
    };
  }

  /**
   * Spends one request and `tokens` tokens, or throws 429 rate_limit_exceeded (with retry-after and the
   * x-ratelimit-* headers) without spending anything. Returns the headers after spending. Every header is of the same
   * instant as the decision (a second clock read a millisecond later would report the budget after a refill).
   */
  consume(model: string, tokens: number): Record<string, string> {
    const now = this.clock();
    const { rpm, tpm } = this.limits;
    const waitRequests = this.requests.msUntilAvailable(1, now);
    if (waitRequests > 0) {
      const used = rpm - this.requests.remaining(now);
      throw rateLimitExceeded(
        `Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit ${rpm}, Used ${used}, ` +
          `Requested 1. Please try again in ${formatResetDuration(waitRequests)}. ` +
          'Visit https://platform.openai.com/account/rate-limits to learn more.',
        'requests',
        { ...this.headers(now), ...retryAfterHeaders(waitRequests) },
      );
    }
    const waitTokens = this.tokens.msUntilAvailable(tokens, now);
    if (waitTokens === Number.POSITIVE_INFINITY) {
      // OpenAI answers a request larger than the whole TPM limit with 429 too; waiting cannot help.
      throw rateLimitExceeded(
        `Request too large for ${model} in organization org-mock on tokens per min (TPM): Limit ${tpm}, Requested ${tokens}. ` +
          'The input or output tokens must be reduced in order to run successfully. ' +
          'Visit https://platform.openai.com/account/rate-limits to learn more.',
        'tokens',
        this.headers(now),
      );
    }
    if (waitTokens > 0) {
      const used = tpm - this.tokens.remaining(now);
      throw rateLimitExceeded(
        `Rate limit reached for ${model} in organization org-mock on tokens per min (TPM): Limit ${tpm}, Used ${used}, ` +
          `Requested ${tokens}. Please try again in ${formatResetDuration(waitTokens)}. ` +
          'Visit https://platform.openai.com/account/rate-limits to learn more.',
        'tokens',
        { ...this.headers(now), ...retryAfterHeaders(waitTokens) },
      );
    }
    this.requests.take(1, now);
    this.tokens.take(tokens, now);
    return this.headers(now);
  }
}
