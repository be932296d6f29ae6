import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TokenizerHealthIndicator } from './tokenizer.health';
import { TokenizerService } from './tokenizer.service';

@Module({
  imports: [TerminusModule],
  providers: [TokenizerService, TokenizerHealthIndicator],
  exports: [TokenizerService, TokenizerHealthIndicator],
})
export class TokenizerModule {}
