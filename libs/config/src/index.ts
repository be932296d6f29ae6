export * from './lib/load-config';
export * from './lib/transforms';
export * from './lib/database.config';
export * from './lib/storage.config';
