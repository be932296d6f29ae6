import { BreakerRegistry, ServicePolicy, type ServicePolicyOptions } from '@app/circuit-breaker';
import { LocalStorageDriver } from './local/local-storage.driver';
import type { StorageDriver, StorageOptions } from './storage.types';

/** The breaker (and policy) name of a remote store, as health and metrics show it. */
export const STORAGE_SERVICE = 'storage';

/**
 * The `storage` policy's defaults, under what the S3 options' `policy` and the registry's `services.storage` set:
 * a request to the store is small and quick, so a shorter per-attempt timeout than the parser's.
 */
export const DEFAULT_STORAGE_POLICY: Readonly<ServicePolicyOptions> = Object.freeze<ServicePolicyOptions>({
  timeoutMs: 30_000,
  maxAttempts: 3,
  initialDelayMs: 200,
  maxDelayMs: 2_000,
  breaker: { kind: 'consecutive', threshold: 5 },
  halfOpenAfterMs: 10_000,
});

/**
 * The S3 driver and the AWS SDK (~20 MB resident) load only when the S3 driver is chosen, so a
 * process on local storage never pays for them.
 */
function loadS3Driver(): typeof import('./s3/s3-storage.driver') {
  return require('./s3/s3-storage.driver') as typeof import('./s3/s3-storage.driver');
}

/**
 * Builds the driver the options name (also usable outside Nest, e.g. in tools). A remote store (S3) gets the
 * `storage` ServicePolicy: from `registry` when given (the process's breakers, shown in health and metrics), else a
 * policy of its own. The local driver has none: a local disk is not a remote service.
 */
export function createStorageDriver(options: StorageOptions, registry?: BreakerRegistry | null): StorageDriver {
  switch (options.driver) {
    case 'local':
      return new LocalStorageDriver(options);
    case 's3': {
      const overrides = { ...DEFAULT_STORAGE_POLICY, ...options.policy };
      const policy = registry ? registry.get(STORAGE_SERVICE, overrides) : new ServicePolicy(STORAGE_SERVICE, overrides);
      return new (loadS3Driver().S3StorageDriver)({ ...options, policy });
    }
    default: {
      const unknown: never = options;
      throw new RangeError(`unknown storage driver ${JSON.stringify((unknown as { driver?: unknown }).driver)}`);
    }
  }
}
