import type { ReconcileResult, UploadConfirmationService } from '@app/jobs';
import { UploadReconcilerScheduler } from './upload-reconciler.scheduler';

const result = (checked: number, confirmed = 0): ReconcileResult => ({
  checked,
  counts: { confirmed, mismatch: 0, expired: 0, missing: checked - confirmed, not_waiting: 0 },
});

function setup(...runs: (ReconcileResult | Error)[]) {
  const reconcileOnce = jest.fn();
  for (const r of runs) {
    if (r instanceof Error) reconcileOnce.mockRejectedValueOnce(r);
    else reconcileOnce.mockResolvedValueOnce(r);
  }
  const s = new UploadReconcilerScheduler({ reconcileOnce } as unknown as UploadConfirmationService, {
    intervalMs: 1000,
    batchSize: 2,
    minDelayMs: 100,
    maxDelayMs: 500,
  });
  return { s, reconcileOnce };
}

describe('UploadReconcilerScheduler', () => {
  it('checks again at once while full batches come back, and sums the counts', async () => {
    const { s, reconcileOnce } = setup(result(2, 1), result(2, 2), result(1, 0));
    expect(await s.runOnce()).toEqual({ checked: 5, counts: { confirmed: 3, mismatch: 0, expired: 0, missing: 2, not_waiting: 0 } });
    expect(reconcileOnce).toHaveBeenCalledTimes(3);
    expect(reconcileOnce).toHaveBeenCalledWith({ batchSize: 2, minDelayMs: 100, maxDelayMs: 500 });
  });

  it('never throws: a failed run is logged and answered with null', async () => {
    const { s } = setup(new Error('database down'));
    await expect(s.runOnce()).resolves.toBeNull();
  });

  it('is off with an interval of 0 (nothing scheduled)', () => {
    const reconcileOnce = jest.fn();
    const s = new UploadReconcilerScheduler({ reconcileOnce } as unknown as UploadConfirmationService, {
      intervalMs: 0,
      batchSize: 2,
      minDelayMs: 100,
      maxDelayMs: 500,
    });
    s.onApplicationBootstrap();
    expect((s as unknown as { task: { scheduled: boolean } }).task.scheduled).toBe(false);
  });
});
