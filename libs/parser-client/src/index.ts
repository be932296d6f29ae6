export * from './lib/parser-client.interface';
export * from './lib/parser-client.config';
export * from './lib/llamaparse.driver';
export * from './lib/parser-client.module';
