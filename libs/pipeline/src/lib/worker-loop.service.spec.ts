import type { MetricsService } from '@app/observability';
import type { ClaimedJob, ClaimService } from './claim.service';
import type { JobNotificationsService } from './job-notifications.service';
import type { PipelineOptions } from './pipeline.options';
import type { RunOutcome, StageRunner } from './stage-runner.service';
import { WorkerLoopService } from './worker-loop.service';

/** A promise and its resolve, to let each collaborator answer exactly when the test says. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise((r) => setImmediate(r));

const OPTIONS = {
  workerId: 'w1',
  concurrency: 4,
  claimBatch: 4,
  leaseMs: 30_000,
  leaseRenewMs: 10_000,
  pollIntervalMs: 60_000,
  shutdownGraceMs: 1_000,
} as PipelineOptions;

const claimed = (jobId: string): ClaimedJob =>
  ({ jobId, documentId: 'd', stage: 'parsing', fromState: 'queued', correlationId: 'c', pickupSeconds: 0 }) as ClaimedJob;

/**
 * The worker loop's bookkeeping around leases, with the database and the runner played by the test (their
 * own behaviour is covered by claim.int-spec and the worker's integration tests on the real stack).
 */
interface Run {
  signal: AbortSignal;
  done: ReturnType<typeof deferred<RunOutcome>>;
}

/** A loop whose claims answer from `claimQueue` and whose renewals answer with `renew`; each run waits for the test. */
function harness(claimQueue: ClaimedJob[][], renew: (ids: string[]) => Promise<string[]>) {
  const runs: Run[] = [];
  const claims = { claim: async () => claimQueue.shift() ?? [], renew } as unknown as ClaimService;
  const runner = {
    run: (_job: ClaimedJob, _shutdown: AbortSignal, leaseLost: AbortSignal) => {
      const done = deferred<RunOutcome>();
      runs.push({ signal: leaseLost, done });
      return done.promise;
    },
  } as unknown as StageRunner;
  const notifications = { start: async () => undefined, stop: async () => undefined, connected: true } as unknown as JobNotificationsService;
  const metrics = { observePickup: () => undefined } as unknown as MetricsService;
  return { loop: new WorkerLoopService(claims, runner, notifications, OPTIONS, 'postgres://unused', metrics), runs };
}

describe('WorkerLoopService lease renewal', () => {
  // whatever an expectation did, end every run and stop the loop (its timers would keep the test process alive)
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const start = async (claimQueue: ClaimedJob[][], renew: (ids: string[]) => Promise<string[]>) => {
    const h = harness(claimQueue, renew);
    cleanup.push(async () => {
      for (const r of h.runs) r.done.resolve('released');
      await flush();
      await h.loop.beforeApplicationShutdown('test');
    });
    await h.loop.onApplicationBootstrap();
    await flush();
    return h;
  };

  it('regression: a renewal answered after the job was finished and claimed again leaves the new claim alone', async () => {
    const claimQueue: ClaimedJob[][] = [[claimed('X')]];
    const renewal = deferred<string[]>();
    const { loop, runs } = await start(claimQueue, () => renewal.promise);
    expect(runs).toHaveLength(1);

    // the renewal of claim 1 is sent; meanwhile claim 1 ends (the job went to waiting) and the webhook
    // makes the job claimable again, so this worker claims it a second time
    const renewing = loop.renewLeases();
    claimQueue.push([claimed('X')]);
    runs[0].done.resolve('waiting');
    await flush();
    expect(runs).toHaveLength(2);

    // the renewal's answer, from before the second claim: job X was not working under us then
    renewal.resolve(['X']);
    await renewing;
    expect(runs[1].signal.aborted).toBe(false);
    expect(loop.status().inFlight).toBe(1);
  });

  it('aborts the claim whose lease was taken over', async () => {
    const renewal = deferred<string[]>();
    const { loop, runs } = await start([[claimed('Y')]], () => renewal.promise);
    const renewing = loop.renewLeases();
    renewal.resolve(['Y']);
    await renewing;
    expect(runs[0].signal.aborted).toBe(true);
  });

  it('regression: a second claim of a job whose first run is still ending stops the first and keeps its own entry', async () => {
    const renewed: string[][] = [];
    const { loop, runs } = await start([[claimed('X')], [claimed('X')]], async (ids) => (renewed.push(ids), []));
    expect(runs).toHaveLength(1);

    // run 1 has handed job X over (its last database round trip is still in flight) and X is claimable
    // again: a wake-up makes this worker claim it a second time
    loop.pump();
    await flush();
    expect(runs).toHaveLength(2);
    expect(runs[0].signal.aborted).toBe(true);
    expect(runs[1].signal.aborted).toBe(false);

    // run 1 ends: the entry of run 2 stays, so its lease is renewed and shutdown waits for it
    runs[0].done.resolve('waiting');
    await flush();
    expect(loop.status().inFlight).toBe(1);
    await loop.renewLeases();
    expect(renewed.at(-1)).toEqual(['X']);
  });
});
