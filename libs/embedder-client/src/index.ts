export * from './lib/embedder.interface';
export * from './lib/embedder.config';
export * from './lib/tokenizer';
export * from './lib/batch-planner';
export * from './lib/token-rate-budget';
export * from './lib/openai-embedder.driver';
export * from './lib/embedder.module';
export * from './lib/embedder.settings';
