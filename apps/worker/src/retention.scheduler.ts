import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { RateLimitStore, RetentionService } from '@app/jobs';
import { MetricsService } from '@app/observability';
import { PeriodicTask } from './periodic-task';

const DAY_MS = 86_400_000;

export interface RetentionSchedulerOptions {
  /** 0 = events kept for ever. */
  eventsDays: number;
  /** 0 = webhook_log kept for ever. */
  webhookLogDays: number;
  intervalMs: number;
  batchSize: number;
}

export const RETENTION_SCHEDULER_OPTIONS = Symbol('RETENTION_SCHEDULER_OPTIONS');

/**
 * Runs retention every `intervalMs` (the first run one interval after start, with up to 10 % jitter so workers started
 * together do not all try at once). Runs never overlap here; across workers the store's advisory lock lets one run at a
 * time and the others skip. A failed run is logged and tried again next interval. Nothing is scheduled when both ages
 * are 0.
 */
@Injectable()
export class RetentionScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionScheduler.name);
  private readonly task: PeriodicTask;

  constructor(
    private readonly retention: RetentionService,
    private readonly metrics: MetricsService,
    @Inject(RETENTION_SCHEDULER_OPTIONS) private readonly opts: RetentionSchedulerOptions,
    @Optional() private readonly rateLimits?: RateLimitStore,
  ) {
    this.task = new PeriodicTask(this.opts.intervalMs, () => this.runOnce());
  }

  onApplicationBootstrap(): void {
    if (this.opts.eventsDays === 0 && this.opts.webhookLogDays === 0) {
      this.logger.log('retention off: events and webhook_log are kept for ever');
      return;
    }
    this.task.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One retention run; never throws. */
  async runOnce(): Promise<void> {
    try {
      const r = await this.retention.pruneOnce({
        eventsMaxAgeMs: this.opts.eventsDays * DAY_MS,
        webhookLogMaxAgeMs: this.opts.webhookLogDays * DAY_MS,
        batchSize: this.opts.batchSize,
      });
      if (!r.ran) {
        this.logger.debug('retention skipped: another process holds the retention lock');
        return;
      }
      this.metrics.rowsPruned('events', r.events.deleted);
      this.metrics.rowsPruned('webhook_log', r.webhookLog.deleted);
      // the api's upload-throttle counters of keys idle for a day (one row a user or address)
      const counters = (await this.rateLimits?.prune(DAY_MS)) ?? 0;
      if (counters) this.metrics.rowsPruned('rate_limits', counters);
      if (r.events.deleted || r.webhookLog.deleted || !r.events.complete || !r.webhookLog.complete) {
        this.logger.log(
          `retention: deleted ${r.events.deleted} events (${r.events.batches} batches${r.events.complete ? '' : ', more next run'}), ` +
            `${r.webhookLog.deleted} webhook_log rows (${r.webhookLog.batches} batches${r.webhookLog.complete ? '' : ', more next run'})`,
        );
      }
    } catch (err) {
      this.logger.warn(`retention run failed (tried again in ${this.opts.intervalMs} ms): ${(err as Error).message}`);
    }
  }
}
