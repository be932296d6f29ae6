import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { MetricsService, withCorrelation } from '@app/observability';
import { ClaimService, ClaimedJob } from './claim.service';
import { JobNotificationsService } from './job-notifications.service';
import { PIPELINE_OPTIONS, PipelineOptions } from './pipeline.options';
import { RunOutcome, StageRunner } from './stage-runner.service';

export const PIPELINE_DATABASE_URL = Symbol('PIPELINE_DATABASE_URL');

interface InHand {
  job: ClaimedJob;
  leaseLost: AbortController;
  done: Promise<RunOutcome | 'error'>;
}

export interface WorkerLoopStatus {
  running: boolean;
  stopping: boolean;
  inFlight: number;
  concurrency: number;
  listening: boolean;
  lastPollAt: Date | null;
  lastLeaseRenewalAt: Date | null;
  lastLeaseRenewalError: string | null;
  outcomes: Record<string, number>;
}

/**
 * The worker's loop: wakes on NOTIFY (and on a polling timer as fallback), claims up to its free
 * slots, runs each job through the StageRunner, renews the leases of jobs in hand, and on shutdown
 * stops claiming, lets jobs in hand finish within the grace period and releases the rest.
 */
@Injectable()
export class WorkerLoopService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerLoopService.name);
  private readonly inHand = new Map<string, InHand>();
  /** Runs replaced by a newer claim of their job, still winding down (shutdown waits for them too). */
  private readonly superseded = new Set<Promise<RunOutcome | 'error'>>();
  private readonly shutdown = new AbortController();
  private pumping = false;
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
      stopping: this.shutdown.signal.aborted,
      inFlight: this.inHand.size,
      concurrency: this.opts.concurrency,
      listening: this.notifications.connected,
      lastPollAt: this.lastPollAt,
      lastLeaseRenewalAt: this.lastLeaseRenewalAt,
      lastLeaseRenewalError: this.lastLeaseRenewalError,
      outcomes: { ...this.outcomes },
    };
  }

  /** Claims as many jobs as there are free slots, repeatedly while there is work. Never runs twice at once. */
  pump(): void {
    if (!this.running || this.shutdown.signal.aborted) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          const free = this.opts.concurrency - this.inHand.size;
          if (free <= 0) {
            this.lastPollAt = new Date(); // busy, not stuck: the heartbeat stays fresh
            break;
          }
          const jobs = await this.claims.claim(Math.min(free, this.opts.claimBatch));
          this.lastPollAt = new Date();
          for (const job of jobs) this.start(job);
          if (jobs.length === Math.min(free, this.opts.claimBatch)) this.again = true;
        } while (this.again && !this.shutdown.signal.aborted);
      } catch (e) {
        this.logger.warn(`claim failed: ${(e as Error).message}`);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private start(job: ClaimedJob): void {
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
    const entry: InHand = { job, leaseLost, done: Promise.resolve('error') };
    entry.done = withCorrelation(job.correlationId, () => this.runner.run(job, this.shutdown.signal, leaseLost.signal))
      .catch((e: unknown): 'error' => {
        this.logger.error(`job ${job.jobId} failed in the runner: ${(e as Error).stack ?? e}`);
        return 'error';
      })
      .then((outcome) => {
        this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
        if (this.inHand.get(job.jobId) === entry) this.inHand.delete(job.jobId);
        this.pump();
        return outcome;
      });
    this.inHand.set(job.jobId, entry);
  }

  /** Extends the leases of the jobs in hand; aborts the work on any whose lease this worker no longer holds. */
  async renewLeases(): Promise<void> {
    // The claims this renewal is about: by the time its answer comes, a job may have left our hands (to
    // `waiting`) and been claimed again by us. The answer says nothing about that newer claim.
    const sent = new Map(this.inHand);
    try {
      const lost = await this.claims.renew([...sent.keys()]);
      this.lastLeaseRenewalAt = new Date();
      this.lastLeaseRenewalError = null;
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
    await this.notifications.stop();
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
