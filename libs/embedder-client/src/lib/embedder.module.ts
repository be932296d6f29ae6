import { BreakerRegistry } from '@app/circuit-breaker';
import { DynamicModule, Module } from '@nestjs/common';
import { EMBEDDER_OPTIONS, EmbedderModuleOptions } from './embedder.config';
import { EMBEDDER, Embedder } from './embedder.interface';
import { OpenAiEmbedder } from './openai-embedder.driver';
import { TokenRateBudget } from './token-rate-budget';

export function createEmbedder(options: EmbedderModuleOptions, registry: BreakerRegistry): Embedder {
  switch (options.driver) {
    case 'openai': {
      const budget = options.tokensPerMinute ? new TokenRateBudget(options.tokensPerMinute) : undefined;
      return new OpenAiEmbedder(options, registry.get('embedder', options.policy), budget);
    }
    default:
      throw new Error(`Unknown embedder driver: ${String((options as { driver: unknown }).driver)}`);
  }
}

/** Global: provides EMBEDDER. Needs CircuitBreakerModule.forRoot() in the same app. */
@Module({})
export class EmbedderModule {
  static forRoot(options: EmbedderModuleOptions): DynamicModule {
    return {
      module: EmbedderModule,
      global: true,
      providers: [
        { provide: EMBEDDER_OPTIONS, useValue: options },
        { provide: EMBEDDER, useFactory: createEmbedder, inject: [EMBEDDER_OPTIONS, BreakerRegistry] },
      ],
      exports: [EMBEDDER, EMBEDDER_OPTIONS],
    };
  }
}
