import { LocalStorageDriver } from './local/local-storage.driver';
import type { StorageDriver, StorageOptions } from './storage.types';

/**
 * The S3 driver and the AWS SDK (~20 MB resident) load only when the S3 driver is chosen, so a
 * process on local storage never pays for them.
 */
function loadS3Driver(): typeof import('./s3/s3-storage.driver') {
  return require('./s3/s3-storage.driver') as typeof import('./s3/s3-storage.driver');
}

/** Builds the driver the options name (also usable outside Nest, e.g. in tools). */
export function createStorageDriver(options: StorageOptions): StorageDriver {
  switch (options.driver) {
    case 'local':
      return new LocalStorageDriver(options);
    case 's3':
      return new (loadS3Driver().S3StorageDriver)(options);
    default: {
      const unknown: never = options;
      throw new RangeError(`unknown storage driver ${JSON.stringify((unknown as { driver?: unknown }).driver)}`);
    }
  }
}
