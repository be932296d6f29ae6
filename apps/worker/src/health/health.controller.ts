import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { BreakersHealthIndicator, DatabaseHealthIndicator } from '@app/observability';
import { StorageHealthIndicator } from '@app/storage';
import { WORKER_CONFIG } from '../app.tokens';
import type { WorkerConfig } from '../app.config';
import { WorkerHealthIndicators } from './worker.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DatabaseHealthIndicator,
    private readonly breakers: BreakersHealthIndicator,
    private readonly storage: StorageHealthIndicator,
    private readonly worker: WorkerHealthIndicators,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready: database, storage, the loop's heartbeat and lease renewals, and no open breaker. */
  @Get('ready')
  @HealthCheck()
  ready() {
    const silence = Math.max(5 * this.config.POLL_INTERVAL_MS, 5_000);
    return this.health.check([
      () => this.db.check('database'),
      () => this.storage.check('storage'),
      () => this.worker.loopHeartbeat('worker_loop', silence),
      () => this.breakers.check('breakers'),
    ]);
  }
}
