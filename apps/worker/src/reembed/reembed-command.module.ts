import { DynamicModule, Module } from '@nestjs/common';
import { CircuitBreakerModule } from '@app/circuit-breaker';
import { DatabaseModule } from '@app/database';
import { EmbedderModule, embedderOptionsFrom } from '@app/embedder-client';
import { EmbeddingsModule } from '@app/embeddings';
import type { WorkerConfig } from '../app.config';

/**
 * What `node main.js reembed` needs: the database, the embedder behind its breaker and the model registry.
 * No pipeline, no HTTP, no re-embedding loop of its own (the command drives the rounds itself with --run).
 */
@Module({})
export class ReembedCommandModule {
  static forRoot(c: WorkerConfig): DynamicModule {
    return {
      module: ReembedCommandModule,
      imports: [
        DatabaseModule.forRoot({
          url: c.DATABASE_URL,
          poolSize: 2,
          migrateOnStart: false,
          embeddingDimensions: c.EMBEDDING_DIMENSIONS,
          applicationName: 'ingest-reembed',
        }),
        CircuitBreakerModule.forRoot({
          services: {
            embedder: {
              timeoutMs: c.EMBEDDER_TIMEOUT_MS,
              maxAttempts: c.CALL_MAX_ATTEMPTS,
              breaker: { kind: 'consecutive', threshold: c.BREAKER_THRESHOLD },
              halfOpenAfterMs: c.BREAKER_HALF_OPEN_MS,
            },
          },
        }),
        EmbedderModule.forRoot(embedderOptionsFrom(c)),
        EmbeddingsModule.forRoot({
          configured: { model: c.EMBEDDING_MODEL, version: c.EMBEDDING_VERSION, dimensions: c.EMBEDDING_DIMENSIONS },
          loop: { enabled: false, batchSize: c.REEMBED_BATCH_SIZE },
        }),
      ],
    };
  }
}
