import { Body, Controller, Delete, Get, HttpCode, Put } from '@nestjs/common';
import { JobsService } from '../parsing/jobs.service';
import { FaultConfigService, FaultSettings } from './fault-config.service';
import { MockConfigDto } from './mock-config.dto';
import { RequestHangsService } from './request-hangs.service';
import { MockStats, StatsService } from './stats.service';

export interface MockStatsResponse extends MockStats {
  jobs: ReturnType<JobsService['countByStatus']>;
  queue: ReturnType<JobsService['queueState']>;
  hangingRequests: number;
}

/** Test and chaos-tool controls: read and change the fault knobs, read and reset the counters. No auth. */
@Controller('_mock')
export class MockAdminController {
  constructor(
    private readonly faults: FaultConfigService,
    private readonly stats: StatsService,
    private readonly jobs: JobsService,
    private readonly hangs: RequestHangsService,
  ) {}

  @Get('config')
  getConfig(): FaultSettings {
    return this.faults.get();
  }

  @Put('config')
  putConfig(@Body() patch: MockConfigDto): FaultSettings {
    return this.faults.update(patch);
  }

  @Get('stats')
  getStats(): MockStatsResponse {
    return {
      ...this.stats.snapshot(),
      jobs: this.jobs.countByStatus(),
      queue: this.jobs.queueState(),
      hangingRequests: this.hangs.count,
    };
  }

  @Delete('stats')
  @HttpCode(204)
  resetStats(): void {
    this.stats.reset();
  }
}
