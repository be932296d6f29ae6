import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TokenizerModule } from '../tokenizer/tokenizer.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule, TokenizerModule],
  controllers: [HealthController],
})
export class HealthModule {}
