import { Global, Module } from '@nestjs/common';
import { FaultConfigService } from './fault-config.service';
import { FaultInjectionMiddleware } from './fault-injection.middleware';
import { RequestHangsService } from './request-hangs.service';
import { StatsService } from './stats.service';

/** Runtime fault settings, their PRNG streams and the counters; global so every feature can use them. */
@Global()
@Module({
  providers: [FaultConfigService, StatsService, RequestHangsService, FaultInjectionMiddleware],
  exports: [FaultConfigService, StatsService, RequestHangsService, FaultInjectionMiddleware],
})
export class FaultsModule {}
