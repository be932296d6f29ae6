import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { RateLimitStore } from '@app/jobs';

/**
 * The upload throttle's counters in PostgreSQL (`rate_limits`, one statement a hit), so that every api process
 * behind one port enforces one limit per user; the throttler's own storage counts per process. A fixed window per
 * key; over the limit the key is refused for `blockDuration` (the window's length by default).
 */
@Injectable()
export class PgThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: RateLimitStore) {}

  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): ReturnType<ThrottlerStorage['increment']> {
    return this.store.hit(`${throttlerName}:${key}`, ttl, limit, blockDuration);
  }
}
