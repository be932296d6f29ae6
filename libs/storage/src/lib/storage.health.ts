import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { BreakerStateName } from '@app/circuit-breaker';
import { STORAGE, type StorageDriver } from './storage.types';

export const DEFAULT_STORAGE_PING_TIMEOUT_MS = 3000;

export interface StorageHealthDetail {
  status: 'up' | 'down';
  driver: 'local' | 's3';
  message?: string;
  /** State of the `storage` circuit breaker, when the driver's calls go through one (a remote store). */
  breaker?: BreakerStateName;
}

/**
 * Readiness of the active storage driver: `ping()` (local root writable / bucket reachable) within
 * a timeout. Never throws; returns terminus-compatible `{ [key]: { status, driver, message? } }`,
 * so it can be passed straight to `HealthCheckService.check([() => indicator.check()])`. A remote store's detail also
 * names its circuit breaker's state (`breaker`); the status follows the ping only (the ping bypasses the breaker),
 * an open breaker is what the `breakers` indicator reports down.
 */
@Injectable()
export class StorageHealthIndicator {
  private readonly health = new HealthIndicatorService();

  constructor(@Inject(STORAGE) private readonly storage: StorageDriver) {}

  async check<const K extends string = 'storage'>(
    key: K = 'storage' as K,
    timeoutMs: number = DEFAULT_STORAGE_PING_TIMEOUT_MS,
  ): Promise<Record<K, StorageHealthDetail>> {
    const session = this.health.check(key);
    const driver = this.storage.kind;
    const breaker = this.storage.policy?.status().state;
    const extra = breaker ? { breaker } : {};
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.storage.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`storage ping timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return session.up({ driver, ...extra }) as Record<K, StorageHealthDetail>;
    } catch (e) {
      return session.down({ driver, ...extra, message: e instanceof Error ? e.message : String(e) }) as Record<K, StorageHealthDetail>;
    } finally {
      clearTimeout(timer);
    }
  }
}
