import { DynamicModule, Module } from '@nestjs/common';
import { EmbeddingModelsService } from './embedding-models.service';
import { EMBEDDINGS_OPTIONS, EmbeddingsOptions } from './embeddings.options';
import { ReembedService } from './reembed.service';

/**
 * The embedding model registry and the re-embedding loop. Needs DatabaseModule and EmbedderModule in the app;
 * global, so the pipeline and search find the active model without importing it themselves.
 */
@Module({})
export class EmbeddingsModule {
  static forRoot(options: EmbeddingsOptions): DynamicModule {
    return {
      module: EmbeddingsModule,
      global: true,
      providers: [{ provide: EMBEDDINGS_OPTIONS, useValue: options }, EmbeddingModelsService, ReembedService],
      exports: [EmbeddingModelsService, ReembedService],
    };
  }
}
