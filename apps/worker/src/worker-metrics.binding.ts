import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BreakerRegistry } from '@app/circuit-breaker';
import { MetricsService } from '@app/observability';
import { countUnfinishedJobs } from '@app/jobs';

/**
 * Feeds the metrics that are read on scrape: unfinished jobs by stage and state (a read of the backlog's index, not
 * of every job ever run), and the breakers' states.
 */
@Injectable()
export class WorkerMetricsBinding implements OnModuleInit, OnModuleDestroy {
  private unbind: (() => void) | null = null;

  constructor(
    private readonly metrics: MetricsService,
    private readonly breakers: BreakerRegistry,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  onModuleInit(): void {
    this.unbind = this.metrics.bindBreakers(this.breakers);
    this.metrics.setJobCountsProvider(() => countUnfinishedJobs(this.ds));
  }

  onModuleDestroy(): void {
    this.unbind?.();
  }
}
