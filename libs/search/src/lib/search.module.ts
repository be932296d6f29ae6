import { Module } from '@nestjs/common';
import { SearchService } from './search.service';

/** Provides SearchService. Needs DatabaseModule, EmbedderModule and EmbeddingsModule (global) in the app. */
@Module({
  providers: [SearchService],
  exports: [SearchService],
})
export class SearchModule {}
