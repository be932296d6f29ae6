import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { MetricsService, withCorrelation } from '@app/observability';
import { ClaimService, ClaimedJob, JobNotificationsService } from '@app/jobs';
import { PIPELINE_OPTIONS, PipelineOptions } from './pipeline.options';
import { RunOutcome, StageRunner } from './stage-runner.service';

export const PIPELINE_DATABASE_URL = Symbol('PIPELINE_DATABASE_URL');

interface InHand {
  job: ClaimedJob;
  leaseLost: AbortController;
  done: Promise<RunOutcome | 'error'>;
  /**
   * Until when this worker surely holds the lease (Date.now() ms): the claim's, then each successful renewal's, send
   * time plus the lease. Past it, another worker may have taken the job over: a job claimed ahead is not started then.
   */
  leaseUntil: number;
}

/** A claimed job waiting for a slot: `grant(true)` gives it one; `grant(false)` sends it back (shutdown, lease lost). */
interface SlotWaiter {
  grant: (slot: boolean) => void;
}

export interface WorkerLoopStatus {
  running: boolean;
  stopping: boolean;
  /** Jobs in this worker's hands: running, and claimed ahead waiting for a slot. */
  inFlight: number;
  /** Of those, claimed ahead and waiting for a slot (`prefetch` at most, but for a moment while a superseded run ends). */
  queued: number;
  concurrency: number;
  prefetch: number;
  listening: boolean;
  lastPollAt: Date | null;
  lastLeaseRenewalAt: Date | null;
  lastLeaseRenewalError: string | null;
  outcomes: Record<string, number>;
}

/**
 * The worker's loop: wakes on NOTIFY (and on a polling timer as fallback), claims up to its free
 * slots plus `prefetch` jobs ahead, runs each job through the StageRunner as a slot frees, renews the
 * leases of jobs in hand (running or waiting for a slot), and on shutdown stops claiming, gives the
 * jobs claimed ahead back at once, lets running jobs finish within the grace period and releases the rest.
 *
 * Claiming ahead: when every slot is busy the loop still holds up to `prefetch` claimed jobs, so a slot
 * that frees starts its next job at once instead of waiting for a claim round trip (the next claim refills
 * the queue while the job runs). The cost: a job claimed ahead waits for one of this worker's slots even if
 * another worker is idle (at most until the first of its running jobs ends). decisions.md #19.
 */
@Injectable()
export class WorkerLoopService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerLoopService.name);
  private readonly inHand = new Map<string, InHand>();
  /** Runs replaced by a newer claim of their job, still winding down (shutdown waits for them too). */
  private readonly superseded = new Set<Promise<RunOutcome | 'error'>>();
  private readonly shutdown = new AbortController();
  /** Aborted when shutdown begins: jobs claimed ahead are given back without waiting for a slot. */
  private readonly stopping = new AbortController();
  /** Slots taken by running jobs (at most `concurrency`). */
  private active = 0;
  /** Jobs claimed ahead, first come first served when a slot frees. */
  private readonly waiters: SlotWaiter[] = [];
  private pumping = false;
  /** The pump's loop while it runs: shutdown waits for it, so a claim in flight is released, not left behind. */
  private pumpRun: Promise<void> = Promise.resolve();
  private again = false;
  private running = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private lastPollAt: Date | null = null;
  private lastLeaseRenewalAt: Date | null = null;
  private lastLeaseRenewalError: string | null = null;
  private readonly outcomes: Record<string, number> = {};

  constructor(
    private readonly claims: ClaimService,
    private readonly runner: StageRunner,
    private readonly notifications: JobNotificationsService,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
    @Inject(PIPELINE_DATABASE_URL) private readonly databaseUrl: string,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.running = true;
    await this.notifications.start(this.databaseUrl, () => this.pump());
    this.pollTimer = setInterval(() => this.pump(), this.opts.pollIntervalMs);
    this.leaseTimer = setInterval(() => void this.renewLeases(), this.opts.leaseRenewMs);
    this.pump();
    this.logger.log(`worker ${this.opts.workerId} started: concurrency ${this.opts.concurrency}`);
  }

  status(): WorkerLoopStatus {
    return {
      running: this.running,
      stopping: this.stopping.signal.aborted,
      inFlight: this.inHand.size,
      queued: this.waiters.length,
      concurrency: this.opts.concurrency,
      prefetch: this.opts.prefetch,
      listening: this.notifications.connected,
      lastPollAt: this.lastPollAt,
      lastLeaseRenewalAt: this.lastLeaseRenewalAt,
      lastLeaseRenewalError: this.lastLeaseRenewalError,
      outcomes: { ...this.outcomes },
    };
  }

  /** Claims as many jobs as there are free slots and room ahead, repeatedly while there is work. Never runs twice at once. */
  pump(): void {
    if (!this.running || this.shutdown.signal.aborted) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.pumpRun = (async () => {
      try {
        do {
          this.again = false;
          const free = this.opts.concurrency + this.opts.prefetch - this.inHand.size;
          if (free <= 0) {
            this.lastPollAt = new Date(); // busy, not stuck: the heartbeat stays fresh
            break;
          }
          const sentAt = Date.now();
          const jobs = await this.claims.claim(Math.min(free, this.opts.claimBatch));
          this.lastPollAt = new Date();
          // jobs claimed while shutdown began get no slot: start() hands them to the runner to be released at once
          for (const job of jobs) this.start(job, sentAt + this.opts.leaseMs);
          if (jobs.length === Math.min(free, this.opts.claimBatch)) this.again = true;
        } while (this.again && this.running);
      } catch (e) {
        this.logger.warn(`claim failed: ${(e as Error).message}`);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private start(job: ClaimedJob, leaseUntil: number): void {
    const leaseLost = new AbortController();
    this.metrics.observePickup(job.stage, job.pickupSeconds);
    // A new claim of a job whose previous run has not returned yet (it handed the job over, e.g. to
    // `waiting`, and the job came back before the run finished its last step; or its lease expired and we
    // took it again): the previous run must stop, and its end must not drop the new entry.
    const previous = this.inHand.get(job.jobId);
    if (previous) {
      previous.leaseLost.abort();
      this.superseded.add(previous.done);
      void previous.done.finally(() => this.superseded.delete(previous.done));
    }
    // every log line and outgoing call of this job's work carries its correlation id
    const entry: InHand = { job, leaseLost, done: Promise.resolve('error'), leaseUntil };
    entry.done = this.slot(leaseLost.signal).then((slot) => {
      // A job that waited past its lease (renewals failed meanwhile) may be another worker's by now: no work on it.
      if (slot && !leaseLost.signal.aborted && Date.now() >= entry.leaseUntil) {
        this.logger.warn(`the lease of job ${job.jobId} ran out while it waited for a slot`);
        leaseLost.abort();
      }
      // Without a slot (shutdown began, or the lease was lost while it waited) the runner is handed an aborted
      // signal: it releases the job, or stops on the lost lease, before any work.
      return withCorrelation(job.correlationId, () => this.runner.run(job, slot ? this.shutdown.signal : this.stopping.signal, leaseLost.signal))
        .catch((e: unknown): 'error' => {
          this.logger.error(`job ${job.jobId} failed in the runner: ${(e as Error).stack ?? e}`);
          return 'error';
        })
        .then((outcome) => {
          if (slot) this.freeSlot();
          this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
          if (this.inHand.get(job.jobId) === entry) this.inHand.delete(job.jobId);
          this.pump();
          return outcome;
        });
    });
    this.inHand.set(job.jobId, entry);
  }

  /** A slot for a claimed job: at once if one is free, else when a running job ends (false: shutdown or lease lost first). */
  private slot(leaseLost: AbortSignal): Promise<boolean> {
    if (this.stopping.signal.aborted || leaseLost.aborted) return Promise.resolve(false);
    if (this.active < this.opts.concurrency) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const waiter: SlotWaiter = {
        grant: (slot) => {
          leaseLost.removeEventListener('abort', onLost);
          resolve(slot);
        },
      };
      const onLost = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.grant(false);
      };
      leaseLost.addEventListener('abort', onLost, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A running job ended: its slot goes straight to the job claimed ahead first, if any. */
  private freeSlot(): void {
    const next = this.waiters.shift();
    if (next) next.grant(true);
    else this.active--;
  }

  /** Extends the leases of the jobs in hand; aborts the work on any whose lease this worker no longer holds. */
  async renewLeases(): Promise<void> {
    // The claims this renewal is about: by the time its answer comes, a job may have left our hands (to
    // `waiting`) and been claimed again by us. The answer says nothing about that newer claim.
    const sent = new Map(this.inHand);
    const sentAt = Date.now();
    try {
      const lost = await this.claims.renew([...sent.keys()]);
      this.lastLeaseRenewalAt = new Date();
      this.lastLeaseRenewalError = null;
      const lostIds = new Set(lost);
      for (const [id, h] of sent) if (!lostIds.has(id)) h.leaseUntil = Math.max(h.leaseUntil, sentAt + this.opts.leaseMs);
      for (const id of lost) {
        const h = this.inHand.get(id);
        // Only abort the same claim, still in hand: the runner may have finished the job and claimed it again
        // since (then the answer is stale). A job its runner moved out of `working` is not reported lost at all.
        if (h && h === sent.get(id)) {
          this.logger.warn(`lost the lease of job ${id}`);
          h.leaseLost.abort();
        }
      }
    } catch (e) {
      this.lastLeaseRenewalError = (e as Error).message;
      this.logger.warn(`lease renewal failed: ${(e as Error).message}`);
    }
  }

  /** SIGTERM: stop claiming; let jobs in hand finish within the grace period; release what is left. */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (!this.running) return;
    this.logger.log(`stopping (${signal ?? 'shutdown'}): ${this.inHand.size} jobs in hand`);
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    // jobs claimed ahead go back now, not after the grace period: another worker can take them at once
    this.stopping.abort();
    for (const w of this.waiters.splice(0)) w.grant(false);
    await this.notifications.stop();
    // a claim still in flight: its jobs are released (no slot now), and counted below
    await this.pumpRun;
    const all = () => Promise.all([...[...this.inHand.values()].map((h) => h.done), ...this.superseded]);
    const graceOver = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), this.opts.shutdownGraceMs).unref());
    if ((await Promise.race([all(), graceOver])) === 'timeout') {
      this.logger.warn(`grace period over: releasing ${this.inHand.size} jobs`);
      this.shutdown.abort();
      await all();
    } else {
      this.shutdown.abort();
    }
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.logger.log('stopped');
  }
}
