import type { MetricsService } from '@app/observability';
import type { ClaimedJob, ClaimService, JobNotificationsService } from '@app/jobs';
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
  prefetch: 0,
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
  jobId: string;
  /** The run's leaseLost signal. */
  signal: AbortSignal;
  /** The run's shutdown signal. */
  shutdown: AbortSignal;
  done: ReturnType<typeof deferred<RunOutcome>>;
}

/** A loop whose claims answer from `claimQueue` and whose renewals answer with `renew`; each run waits for the test. */
function harness(
  claimQueue: (ClaimedJob[] | Promise<ClaimedJob[]>)[],
  renew: (ids: string[]) => Promise<string[]>,
  options: Partial<PipelineOptions> = {},
) {
  const runs: Run[] = [];
  /** The limit of each claim the loop made. */
  const claimLimits: number[] = [];
  const claims = {
    claim: async (limit: number) => (claimLimits.push(limit), (await claimQueue.shift()) ?? []),
    renew,
  } as unknown as ClaimService;
  const runner = {
    run: (job: ClaimedJob, shutdown: AbortSignal, leaseLost: AbortSignal) => {
      const done = deferred<RunOutcome>();
      runs.push({ jobId: job.jobId, signal: leaseLost, shutdown, done });
      return done.promise;
    },
  } as unknown as StageRunner;
  const notifications = { start: async () => undefined, stop: async () => undefined, connected: true } as unknown as JobNotificationsService;
  const metrics = { observePickup: () => undefined } as unknown as MetricsService;
  const loop = new WorkerLoopService(claims, runner, notifications, { ...OPTIONS, ...options }, 'postgres://unused', metrics);
  return { loop, runs, claimLimits };
}

describe('WorkerLoopService lease renewal', () => {
  // whatever an expectation did, end every run and stop the loop (its timers would keep the test process alive)
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const start = async (
    claimQueue: (ClaimedJob[] | Promise<ClaimedJob[]>)[],
    renew: (ids: string[]) => Promise<string[]>,
    options: Partial<PipelineOptions> = {},
  ) => {
    const h = harness(claimQueue, renew, options);
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
    const claimQueue: (ClaimedJob[] | Promise<ClaimedJob[]>)[] = [[claimed('X')]];
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

/** Stops the loop, ending every run, including those it hands the runner while stopping (jobs claimed ahead). */
async function stopAll(h: ReturnType<typeof harness>): Promise<void> {
  const stopping = h.loop.beforeApplicationShutdown('test');
  for (let i = 0; i < 5; i++) {
    for (const r of h.runs) r.done.resolve('released');
    await flush();
  }
  await stopping;
}

describe('WorkerLoopService claiming ahead (prefetch)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  const start = async (claimQueue: (ClaimedJob[] | Promise<ClaimedJob[]>)[], options: Partial<PipelineOptions>) => {
    const renewed: string[][] = [];
    const h = harness(claimQueue, async (ids) => (renewed.push(ids), []), options);
    cleanup.push(() => stopAll(h));
    await h.loop.onApplicationBootstrap();
    await flush();
    return { ...h, renewed };
  };

  it('holds `prefetch` jobs beyond its slots, runs them only as slots free, and renews their leases while they wait', async () => {
    const { loop, runs, claimLimits, renewed } = await start([[claimed('A'), claimed('B'), claimed('C')]], { concurrency: 2, prefetch: 1 });
    expect(claimLimits[0]).toBe(3); // 2 slots + 1 ahead
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(loop.status()).toMatchObject({ inFlight: 3, queued: 1, concurrency: 2, prefetch: 1 });
    await loop.renewLeases();
    expect([...(renewed.at(-1) ?? [])].sort()).toEqual(['A', 'B', 'C']);
  });

  it('a slot that frees starts the job claimed ahead at once, without waiting for the next claim', async () => {
    const nextClaim = deferred<ClaimedJob[]>();
    const { loop, runs, claimLimits } = await start([[claimed('A'), claimed('B')], nextClaim.promise], { concurrency: 1, prefetch: 1 });
    expect(runs.map((r) => r.jobId)).toEqual(['A']);

    runs[0].done.resolve('done');
    await flush();
    // B started while the refill claim is still unanswered
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(claimLimits).toEqual([2, 1]);
    expect(loop.status()).toMatchObject({ inFlight: 1, queued: 0 });

    nextClaim.resolve([claimed('C')]);
    await flush();
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']); // C waits for B's slot
    expect(loop.status()).toMatchObject({ inFlight: 2, queued: 1 });
  });

  it('never runs more jobs at once than its slots, whatever order runs end in', async () => {
    const { loop, runs } = await start(
      [[claimed('A'), claimed('B'), claimed('C'), claimed('D')], [claimed('E'), claimed('F')], [claimed('G')]],
      { concurrency: 2, prefetch: 2 },
    );
    const running = () => runs.filter((r) => !settled.has(r.jobId)).length;
    const settled = new Set<string>();
    const end = async (i: number) => {
      settled.add(runs[i].jobId);
      runs[i].done.resolve('done');
      await flush();
      await flush();
    };
    expect(running()).toBe(2);
    await end(1);
    expect(running()).toBe(2);
    await end(0);
    expect(running()).toBe(2);
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B', 'C', 'D']);
    expect(loop.status().inFlight).toBeLessThanOrEqual(4);
  });

  it('on shutdown gives the jobs claimed ahead back at once (aborted signal, no slot) and lets running jobs go on', async () => {
    const { loop, runs } = await start([[claimed('A'), claimed('B')]], { concurrency: 1, prefetch: 1, shutdownGraceMs: 60_000 });
    expect(runs.map((r) => r.jobId)).toEqual(['A']);

    const stopping = loop.beforeApplicationShutdown('SIGTERM');
    await flush();
    // B is handed to the runner with an aborted shutdown signal: it releases B before any work
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(runs[1].shutdown.aborted).toBe(true);
    // A runs on, within the grace period
    expect(runs[0].shutdown.aborted).toBe(false);
    runs[1].done.resolve('released');
    runs[0].done.resolve('done');
    await stopping;
  });

  it('a job claimed ahead whose lease is lost while it waits goes to the runner at once as lost, and takes no slot', async () => {
    const renewal = deferred<string[]>();
    const h = harness([[claimed('A'), claimed('B')], [claimed('C')]], () => renewal.promise, { concurrency: 1, prefetch: 1 });
    cleanup.push(() => stopAll(h));
    await h.loop.onApplicationBootstrap();
    await flush();
    expect(h.runs.map((r) => r.jobId)).toEqual(['A']);

    const renewing = h.loop.renewLeases();
    renewal.resolve(['B']);
    await renewing;
    await flush();
    expect(h.runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(h.runs[1].signal.aborted).toBe(true);
    h.runs[1].done.resolve('lost');
    await flush();
    await flush();
    // A still holds the only slot: C (claimed ahead in B's place) waits
    expect(h.runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(h.loop.status()).toMatchObject({ inFlight: 2, queued: 1 });
  });

  it('stops claiming once shutdown begins; the jobs a claim in flight brings are released at once, and waited for', async () => {
    const inFlight = deferred<ClaimedJob[]>();
    const { loop, runs, claimLimits } = await start([inFlight.promise, [claimed('C')]], { concurrency: 2, prefetch: 0, shutdownGraceMs: 60_000 });
    expect(claimLimits).toEqual([2]);

    let stopped = false;
    const stopping = loop.beforeApplicationShutdown('SIGTERM').then(() => (stopped = true));
    await flush();
    inFlight.resolve([claimed('A'), claimed('B')]); // a full batch: before, the pump would have claimed again
    await flush();
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(runs.every((r) => r.shutdown.aborted)).toBe(true); // released, no slot
    expect(stopped).toBe(false); // shutdown waits for their release
    for (const r of runs) r.done.resolve('released');
    await stopping;
    expect(claimLimits).toEqual([2]);
  });

  it('does not start a job claimed ahead whose lease ran out while it waited (renewals failing)', async () => {
    const { runs } = await start([[claimed('A'), claimed('B')]], { concurrency: 1, prefetch: 1, leaseMs: 30 });
    expect(runs.map((r) => r.jobId)).toEqual(['A']);
    await new Promise((r) => setTimeout(r, 50)); // no renewal went through: B's lease is over
    runs[0].done.resolve('done');
    await flush();
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(runs[1].signal.aborted).toBe(true); // handed to the runner as lost: it does no work
  });

  it('a job claimed ahead whose lease was renewed meanwhile starts normally', async () => {
    const h = await start([[claimed('A'), claimed('B')]], { concurrency: 1, prefetch: 1, leaseMs: 60 });
    await new Promise((r) => setTimeout(r, 35));
    await h.loop.renewLeases(); // answers: nothing lost
    await new Promise((r) => setTimeout(r, 35)); // past the claim's lease, within the renewal's
    h.runs[0].done.resolve('done');
    await flush();
    expect(h.runs.map((r) => r.jobId)).toEqual(['A', 'B']);
    expect(h.runs[1].signal.aborted).toBe(false);
  });

  it('prefetch 0 claims only for free slots', async () => {
    const { runs, claimLimits } = await start([[claimed('A'), claimed('B')]], { concurrency: 2, prefetch: 0 });
    expect(claimLimits).toEqual([2]);
    expect(runs.map((r) => r.jobId)).toEqual(['A', 'B']);
  });
});
