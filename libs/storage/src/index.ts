export * from './lib/storage.types';
export * from './lib/storage.errors';
export * from './lib/storage-key';
export * from './lib/storage.factory';
export * from './lib/storage.module';
export * from './lib/storage.health';
export { LocalStorageDriver } from './lib/local/local-storage.driver';
export type { LocalStorageDriverOptions, AtomicWriteOptions, AtomicWriteResult } from './lib/local/local-storage.driver';
export * from './lib/local/upload-signature';
export * from './lib/local/receive-upload';
// The S3 driver is loaded on demand by createStorageDriver (it pulls in the AWS SDK): types only here.
export type { S3StorageDriver, S3StorageDriverOptions } from './lib/s3/s3-storage.driver';
export * from './lib/storage.settings';
export { sha256Hex } from './lib/stream.util';
