import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, MockLlamaParseConfig } from '../app.config';
import { DetailException } from '../common/detail.exception';
import { FaultConfigService } from '../faults/fault-config.service';
import { StatsService } from '../faults/stats.service';
import { DocumentParseError, describeError } from '../parsers/parser';
import { ParserRegistry } from '../parsers/parser.registry';
import { V2WebhookPayload, WebhookSender } from '../webhooks/webhook.sender';
import { V2_SIGNATURE_HEADER } from '../webhooks/webhook.signature';
import { JobQueue } from './job-queue';
import { Job, JobStatus, NewJob, V2JobOptions } from './job.model';

/** How long shutdown waits for parses already running. */
const SHUTDOWN_GRACE_MS = 5_000;

class ParseTimeoutError extends Error {}

/**
 * Owns the jobs: creates them on upload, parses them in the background through a bounded {@link JobQueue},
 * sends the webhook when they finish, and forgets finished jobs after the TTL (or earlier, oldest first,
 * when more than MOCK_LLAMAPARSE_MAX_JOBS are held).
 */
@Injectable()
export class JobsService implements OnModuleDestroy {
  private readonly logger = new Logger(JobsService.name);
  private readonly jobs = new Map<string, Job>();
  private readonly queue: JobQueue;
  private readonly stopping = new AbortController();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: MockLlamaParseConfig,
    private readonly parsers: ParserRegistry,
    private readonly webhooks: WebhookSender,
    private readonly faults: FaultConfigService,
    private readonly stats: StatsService,
  ) {
    this.queue = new JobQueue(config.MOCK_LLAMAPARSE_CONCURRENCY, config.MOCK_LLAMAPARSE_QUEUE_MAX);
    const sweepEvery = Math.max(10, Math.min(config.MOCK_LLAMAPARSE_JOB_TTL_MS, 60_000));
    this.sweeper = setInterval(() => this.evictExpired(), sweepEvery);
    this.sweeper.unref();
  }

  /** Creates a PENDING job and queues its parse; 429 (with retry-after) when the backlog or the job cap is full. */
  submit(input: NewJob): Job {
    if (!this.queue.accepting)
      throw new DetailException(429, this.queue.isClosed ? 'Server is shutting down' : 'Too many pending jobs', {
        'retry-after': '1',
      });
    if (this.jobs.size >= this.config.MOCK_LLAMAPARSE_MAX_JOBS) this.evictExpired();
    if (this.jobs.size >= this.config.MOCK_LLAMAPARSE_MAX_JOBS && !this.evictOldestFinished())
      throw new DetailException(429, 'Too many jobs in progress', { 'retry-after': '1' });
    const job: Job = { id: randomUUID(), status: 'PENDING', createdAt: Date.now(), ...input };
    this.jobs.set(job.id, job);
    this.queue.push({ run: () => this.process(job), cancel: () => this.cancel(job) });
    this.stats.upload();
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Whether uploads are being taken (queue open and not full). */
  get accepting(): boolean {
    return this.queue.accepting;
  }

  queueState(): { accepting: boolean; pending: number; running: number; concurrency: number; maxPending: number } {
    return {
      accepting: this.queue.accepting,
      pending: this.queue.pending,
      running: this.queue.running,
      concurrency: this.queue.concurrency,
      maxPending: this.queue.maxPending,
    };
  }

  countByStatus(): Record<JobStatus, number> {
    const counts: Record<JobStatus, number> = { PENDING: 0, SUCCESS: 0, ERROR: 0, CANCELED: 0 };
    for (const job of this.jobs.values()) counts[job.status]++;
    return counts;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweeper);
    this.stopping.abort();
    await this.queue.close(SHUTDOWN_GRACE_MS);
  }

  private async process(job: Job): Promise<void> {
    job.startedAt = Date.now();
    try {
      const latency = this.faults.get().latencyMs;
      if (latency > 0) await sleep(latency, undefined, { signal: this.stopping.signal });
      const bytes = job.bytes ?? new Uint8Array();
      job.result = await this.withTimeout(this.parsers.parse(job.type, bytes, { ocr: job.ocr, pageSeparator: job.pageSeparator }), this.config.MOCK_LLAMAPARSE_PARSE_TIMEOUT_MS);
      job.status = 'SUCCESS';
      if (!job.v2 && this.faults.nextPartialSuccess()) job.partialSuccess = true;
      this.stats.parsed(job.type);
      this.logger.debug(`job ${job.id} (${job.type}, ${job.result.pages} page(s), ${job.result.ocrPages} by OCR) parsed`);
    } catch (e) {
      if (this.stopping.signal.aborted && !(e instanceof DocumentParseError)) return this.cancel(job);
      job.status = 'ERROR';
      if (e instanceof DocumentParseError) {
        job.errorCode = e.code;
        job.errorMessage = e.message;
      } else if (e instanceof ParseTimeoutError) {
        job.errorCode = 'PARSE_TIMEOUT';
        job.errorMessage = e.message;
      } else {
        job.errorCode = 'PARSE_ERROR';
        job.errorMessage = `Parsing failed: ${describeError(e)}`;
      }
      this.stats.parseError();
      this.logger.warn(`job ${job.id} (${job.type}) failed: ${job.errorMessage}`);
    }
    this.finish(job);
    this.notify(job);
  }

  private cancel(job: Job): void {
    if (job.status !== 'PENDING') return;
    job.status = 'CANCELED';
    job.errorMessage = 'Job canceled: the parser is shutting down';
    this.stats.canceled();
    this.finish(job);
  }

  private finish(job: Job): void {
    job.finishedAt = Date.now();
    job.bytes = undefined;
  }

  private notify(job: Job): void {
    if (job.v2) return this.notifyV2(job, job.v2);
    if (!job.webhookUrl || (job.status !== 'SUCCESS' && job.status !== 'ERROR')) return;
    const target = { url: job.webhookUrl, secret: job.webhookSecret };
    void this.webhooks.send(
      target,
      job.status === 'SUCCESS'
        ? { id: job.id, status: 'SUCCESS', event: 'parse.success', job_metadata: { job_pages: job.result?.pages ?? 0 } }
        : { id: job.id, status: 'ERROR', event: 'parse.error', error_message: job.errorMessage ?? 'Parsing failed' },
    );
  }

  /**
   * v2 jobs: one webhook per configuration that asks for the event (`parse.success` / `parse.error`), signed with
   * its own secret in `LC-Signature`.
   */
  private notifyV2(job: Job, v2: V2JobOptions): void {
    if (job.status !== 'SUCCESS' && job.status !== 'ERROR') return;
    const event = job.status === 'SUCCESS' ? 'parse.success' : 'parse.error';
    for (const hook of v2.webhooks) {
      if (hook.events && !hook.events.includes(event)) continue;
      const payload: V2WebhookPayload = {
        event_id: randomUUID(),
        event_type: event,
        timestamp: new Date().toISOString(),
        data: {
          job_id: job.id,
          status: job.status === 'SUCCESS' ? 'COMPLETED' : 'FAILED',
          tier: v2.tier,
          version: v2.version,
          project_id: v2.projectId,
          ...(job.status === 'SUCCESS'
            ? { pages: job.result?.pages ?? 0 }
            : { error_message: job.errorMessage ?? 'Parsing failed' }),
        },
      };
      void this.webhooks.send(
        { url: hook.url, secret: hook.secret, signatureHeader: V2_SIGNATURE_HEADER, headers: hook.headers, bodyFormat: hook.outputFormat },
        payload,
      );
    }
  }

  private async withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ParseTimeoutError(`Parsing timed out after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private evictExpired(): void {
    const cutoff = Date.now() - this.config.MOCK_LLAMAPARSE_JOB_TTL_MS;
    for (const [id, job] of this.jobs) if (job.finishedAt !== undefined && job.finishedAt <= cutoff) this.jobs.delete(id);
  }

  /** Drops the oldest finished job; false when every held job is still pending. */
  private evictOldestFinished(): boolean {
    for (const [id, job] of this.jobs)
      if (job.finishedAt !== undefined) {
        this.jobs.delete(id);
        return true;
      }
    return false;
  }
}
