import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { JobsService } from '../parsing/jobs.service';

/** Up while the parse queue takes new jobs (open and not full). */
@Injectable()
export class QueueHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly jobs: JobsService,
  ) {}

  check(key: string): HealthIndicatorResult {
    const state = this.jobs.queueState();
    const session = this.indicators.check(key);
    return state.accepting ? session.up(state) : session.down(state);
  }
}
