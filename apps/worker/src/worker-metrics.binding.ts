import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BreakerRegistry } from '@app/circuit-breaker';
import { MetricsService } from '@app/observability';
import type { JobState, Stage } from '@app/state-machine';

/** Feeds the metrics that are read on scrape: jobs by stage and state, and the breakers' states. */
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
    this.metrics.setJobCountsProvider(
      async () =>
        (await this.ds.query(
          `SELECT stage, state, count(*)::int AS count FROM upload_pipeline.upload_jobs GROUP BY stage, state`,
        )) as { stage: Stage; state: JobState; count: number }[],
    );
  }

  onModuleDestroy(): void {
    this.unbind?.();
  }
}
