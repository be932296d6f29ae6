import { DynamicModule, Module } from '@nestjs/common';
import { CircuitBreakerModule } from '@app/circuit-breaker';
import { EmbedderModule, embedderOptionsFrom } from '@app/embedder-client';
import { EmbeddingsModule } from '@app/embeddings';
import type { ApiConfig } from '../app.config';
import { API_CONFIG } from '../app.tokens';
import { EmbeddingsController } from './embeddings.controller';

/**
 * The api's embedder (search embeds queries with the active model) and the model registry with its admin
 * endpoints. The re-embedding loop runs in the workers, not here. An interactive caller waits for the embedder
 * at most one retry: a quick 503 serves it better than a long wait.
 */
@Module({})
export class EmbeddingsApiModule {
  static forRoot(c: ApiConfig): DynamicModule {
    return {
      module: EmbeddingsApiModule,
      imports: [
        CircuitBreakerModule.forRoot({
          services: {
            embedder: {
              timeoutMs: c.EMBEDDER_TIMEOUT_MS,
              maxAttempts: 2,
              maxRetryAfterMs: 1_000,
              breaker: { kind: 'consecutive', threshold: 5 },
              halfOpenAfterMs: 10_000,
            },
          },
        }),
        EmbedderModule.forRoot(embedderOptionsFrom(c)),
        EmbeddingsModule.forRoot({
          configured: { model: c.EMBEDDING_MODEL, version: c.EMBEDDING_VERSION, dimensions: c.EMBEDDING_DIMENSIONS },
          loop: { enabled: false },
        }),
      ],
      controllers: [EmbeddingsController],
      providers: [{ provide: API_CONFIG, useValue: c }],
    };
  }
}
