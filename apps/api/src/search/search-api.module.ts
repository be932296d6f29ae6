import { Module } from '@nestjs/common';
import { SearchModule } from '@app/search';
import { SearchController } from './search.controller';

/** POST /api/v2/search. The embedder and the active model come from EmbeddingsApiModule (global providers). */
@Module({
  imports: [SearchModule],
  controllers: [SearchController],
})
export class SearchApiModule {}
