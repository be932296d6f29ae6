import type { PruneOptions, PruneResult, RetentionService } from '@app/jobs';
import type { MetricsService } from '@app/observability';
import { RetentionScheduler } from './retention.scheduler';

const DAY_MS = 86_400_000;

function setup(result: PruneResult | Error) {
  const calls: PruneOptions[] = [];
  const retention = {
    pruneOnce: async (o: PruneOptions) => {
      calls.push(o);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as RetentionService;
  const pruned: [string, number][] = [];
  const metrics = { rowsPruned: (t: string, n: number) => pruned.push([t, n]) } as unknown as MetricsService;
  const scheduler = new RetentionScheduler(retention, metrics, { eventsDays: 30, webhookLogDays: 7, intervalMs: 600_000, batchSize: 1000 });
  return { scheduler, calls, pruned };
}

describe('RetentionScheduler', () => {
  it('passes the ages in ms and the batch size, and counts the rows deleted', async () => {
    const { scheduler, calls, pruned } = setup({
      ran: true,
      events: { deleted: 5, batches: 1, complete: true },
      webhookLog: { deleted: 2, batches: 1, complete: true },
    });
    await scheduler.runOnce();
    expect(calls).toEqual([{ eventsMaxAgeMs: 30 * DAY_MS, webhookLogMaxAgeMs: 7 * DAY_MS, batchSize: 1000 }]);
    expect(pruned).toEqual([
      ['events', 5],
      ['webhook_log', 2],
    ]);
  });

  it('counts nothing when another worker holds the lock, and never throws', async () => {
    const skipped = setup({ ran: false, events: { deleted: 0, batches: 0, complete: true }, webhookLog: { deleted: 0, batches: 0, complete: true } });
    await skipped.scheduler.runOnce();
    expect(skipped.pruned).toEqual([]);
    const failing = setup(new Error('connection lost'));
    await expect(failing.scheduler.runOnce()).resolves.toBeUndefined();
  });
});
