import { Module } from '@nestjs/common';
import { FaultsModule } from '../faults/faults.module';
import { TokenizerModule } from '../tokenizer/tokenizer.module';
import { EmbeddingsController } from './embeddings.controller';
import { EmbeddingsService } from './embeddings.service';

@Module({
  imports: [FaultsModule, TokenizerModule],
  controllers: [EmbeddingsController],
  providers: [EmbeddingsService],
})
export class EmbeddingsModule {}
