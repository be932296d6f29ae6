import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ReconcileResult, UploadConfirmationService } from '@app/jobs';
import { PeriodicTask } from './periodic-task';

export interface UploadReconcilerOptions {
  /** 0 = the reconciler is off. */
  intervalMs: number;
  batchSize: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const UPLOAD_RECONCILER_OPTIONS = Symbol('UPLOAD_RECONCILER_OPTIONS');

/**
 * Confirms uploads that went straight to the object store (and expires the abandoned ones): every `intervalMs`
 * (jittered up to 10 %) it checks the uploads due for a check, `batchSize` at a time, and again at once while full
 * batches come back. Which uploads, and when each is checked again (backoff), is the store's `pickDue` (SKIP LOCKED,
 * so workers never check one upload twice at once); what a check does is `UploadConfirmationService.check`. Runs
 * never overlap; a failed run is logged and tried again next interval.
 */
@Injectable()
export class UploadReconcilerScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UploadReconcilerScheduler.name);
  private readonly task: PeriodicTask;

  constructor(
    private readonly confirmation: UploadConfirmationService,
    @Inject(UPLOAD_RECONCILER_OPTIONS) private readonly opts: UploadReconcilerOptions,
  ) {
    this.task = new PeriodicTask(this.opts.intervalMs, () => this.runOnce());
  }

  onApplicationBootstrap(): void {
    if (this.opts.intervalMs === 0) {
      this.logger.log('upload reconciler off (UPLOAD_RECONCILE_INTERVAL_MS=0)');
      return;
    }
    this.task.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  /** One reconciler run (full batches are followed by another, at most 10); never throws. */
  async runOnce(): Promise<ReconcileResult | null> {
    try {
      let total: ReconcileResult | null = null;
      for (let i = 0; i < 10 && !this.task.stopped; i++) {
        const r = await this.confirmation.reconcileOnce({
          batchSize: this.opts.batchSize,
          minDelayMs: this.opts.minDelayMs,
          maxDelayMs: this.opts.maxDelayMs,
        });
        total = add(total, r);
        if (r.checked < this.opts.batchSize) break;
      }
      if (total && (total.counts.confirmed || total.counts.mismatch || total.counts.expired)) {
        const c = total.counts;
        this.logger.log(`upload reconciler: ${total.checked} checked, ${c.confirmed} confirmed, ${c.mismatch} mismatched, ${c.expired} expired, ${c.missing} still missing`);
      }
      return total;
    } catch (err) {
      this.logger.warn(`upload reconciler run failed (tried again in ${this.opts.intervalMs} ms): ${(err as Error).message}`);
      return null;
    }
  }
}

function add(a: ReconcileResult | null, b: ReconcileResult): ReconcileResult {
  if (!a) return b;
  const counts = { ...a.counts };
  for (const k of Object.keys(b.counts) as (keyof ReconcileResult['counts'])[]) counts[k] += b.counts[k];
  return { checked: a.checked + b.checked, counts };
}
