// The public face of the storage lib: the driver interface and its optional capabilities, the Nest
// tokens and module, errors, key helpers, settings and health. The drivers' internals (signing,
// receiving, filesystem helpers) stay inside the lib; the api reaches them through capabilities
// such as `StorageDriver.receiver`.
export * from './lib/storage.types';
export * from './lib/upload-receiver';
export * from './lib/storage.errors';
export * from './lib/storage-key';
export * from './lib/storage.factory';
export * from './lib/storage.module';
export * from './lib/storage.health';
export * from './lib/storage.settings';
// The drivers themselves, for code and tests that build one outside Nest; their helpers are not exported.
export { LocalStorageDriver } from './lib/local/local-storage.driver';
export type { LocalStorageDriverOptions } from './lib/local/local-storage.driver';
// The S3 driver is loaded on demand by createStorageDriver (it pulls in the AWS SDK): types only here.
export type { S3StorageDriver, S3StorageDriverOptions } from './lib/s3/s3-storage.driver';
export { sha256Hex } from './lib/stream.util';
