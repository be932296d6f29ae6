export * from './lib/parser-client.interface';
export * from './lib/parser-client.config';
export * from './lib/llamaparse.driver';
export * from './lib/llamaparse-v2.driver';
export * from './lib/page-separator';
export { PARSER_QUOTA_EXHAUSTED, DEFAULT_RATE_LIMIT_BACKOFF_MS } from './lib/llamaparse.http';
export * from './lib/parser-client.module';
