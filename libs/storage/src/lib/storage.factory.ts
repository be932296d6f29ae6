import { LocalStorageDriver } from './local/local-storage.driver';
import { S3StorageDriver } from './s3/s3-storage.driver';
import type { StorageDriver, StorageOptions } from './storage.types';

/** Builds the driver the options name (also usable outside Nest, e.g. in tools). */
export function createStorageDriver(options: StorageOptions): StorageDriver {
  switch (options.driver) {
    case 'local':
      return new LocalStorageDriver(options);
    case 's3':
      return new S3StorageDriver(options);
    default: {
      const unknown: never = options;
      throw new RangeError(`unknown storage driver ${JSON.stringify((unknown as { driver?: unknown }).driver)}`);
    }
  }
}
