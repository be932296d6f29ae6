export * from './lib/load-config';
export * from './lib/transforms';
