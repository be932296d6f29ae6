import { DynamicModule, Module } from '@nestjs/common';
import { SEARCH_OPTIONS, SearchOptions, SearchService } from './search.service';

/** Provides SearchService. Needs DatabaseModule and EmbedderModule (EMBEDDER) in the app. */
@Module({})
export class SearchModule {
  static forRoot(options: SearchOptions): DynamicModule {
    return {
      module: SearchModule,
      providers: [{ provide: SEARCH_OPTIONS, useValue: options }, SearchService],
      exports: [SearchService],
    };
  }
}
