import { DynamicModule, Module } from '@nestjs/common';
import { CircuitBreakerModule } from '@app/circuit-breaker';
import { EmbedderModule, embedderOptionsFrom } from '@app/embedder-client';
import { SearchModule } from '@app/jobs';
import type { ApiConfig } from '../app.config';
import { SearchController } from './search.controller';

/**
 * POST /api/v2/search with its embedder (the worker's client and model). A search waits for the
 * embedder at most one retry: an interactive caller is better served by a quick 503 than a long wait.
 */
@Module({})
export class SearchApiModule {
  static forRoot(c: ApiConfig): DynamicModule {
    return {
      module: SearchApiModule,
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
        SearchModule.forRoot({ embedModel: c.EMBEDDING_MODEL, embedVersion: c.EMBEDDING_VERSION }),
      ],
      controllers: [SearchController],
    };
  }
}
