import { Module } from '@nestjs/common';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { FaultsController } from './faults.controller';
import { FaultsService } from './faults.service';

@Module({
  imports: [RateLimitModule],
  controllers: [FaultsController],
  providers: [FaultsService],
  exports: [FaultsService, RateLimitModule],
})
export class FaultsModule {}
