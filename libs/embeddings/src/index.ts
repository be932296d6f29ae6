export * from './lib/embedding-model';
export * from './lib/embedding-models.service';
export * from './lib/embeddings.options';
export * from './lib/embeddings.module';
export * from './lib/reembed.service';
