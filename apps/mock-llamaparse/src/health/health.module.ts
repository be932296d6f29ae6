import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ParsingModule } from '../parsing/parsing.module';
import { HealthController } from './health.controller';
import { QueueHealthIndicator } from './queue.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ParsingModule],
  controllers: [HealthController],
  providers: [QueueHealthIndicator],
})
export class HealthModule {}
