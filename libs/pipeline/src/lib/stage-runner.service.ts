import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { classifyError, ClassifiedError, PermanentError, TransientError } from '@app/circuit-breaker';
import { DocumentEntity, JobError, UploadJobEntity, prepared, runPrepared } from '@app/database';
import { AppliedTransition, DocumentWrites, JobTransitionsService } from '@app/jobs';
import { MetricsService } from '@app/observability';
import { decideFailure, JobEvent, JobStatus, Stage, tryTransition } from '@app/state-machine';
import type { ClaimedJob } from './claim.service';
import { JobContext, STAGE_HANDLERS, StageHandler, StageResult } from './job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from './pipeline.options';

/** Thrown inside a transition transaction when the job is no longer ours: rolls the side effects back. */
class LeaseLostError extends Error {}

export type RunOutcome = 'waiting' | 'done' | 'retryable' | 'deadletter' | 'released' | 'lost' | 'stale';

/**
 * Carries one claimed job through as many stages as it can in one claim. It starts from the job and document
 * rows the claim statement returned (do nothing if the job moved on or is not ours), runs each stage's
 * handler, and applies the transition with the handler's writes: document columns in the transition's own
 * statement, other writes in one transaction with it. Pass-through stages are applied in the same statement
 * as the transition that reached them. Failures are classified and become `retryable` with backoff or
 * `deadletter` with the reason.
 */
@Injectable()
export class StageRunner {
  private readonly logger = new Logger(StageRunner.name);
  private readonly handlers = new Map<Stage, StageHandler>();

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly transitions: JobTransitionsService,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
    @Inject(STAGE_HANDLERS) handlers: StageHandler[],
    private readonly metrics: MetricsService,
  ) {
    for (const h of handlers) for (const s of h.stages) this.handlers.set(s, h);
  }

  /**
   * @param shutdown aborted when the worker stops: the job in hand is released for another worker.
   * @param leaseLost aborted when the lease renewal found the job taken over: stop, write nothing.
   */
  async run(claimed: ClaimedJob, shutdown: AbortSignal, leaseLost: AbortSignal): Promise<RunOutcome> {
    const signal = AbortSignal.any([shutdown, leaseLost]);
    const worker = this.opts.workerId;
    // The claim statement returned the job and its document: do nothing if it moved on or is not ours.
    // While we hold the lease every transition is a compare-and-set on (stage, state, claimed_by), so a job
    // that changed under us fails the next transition instead of being worked twice; the in-memory copies
    // are kept in step with each transition (and re-read only after a stage whose writes we cannot mirror).
    let ctx: JobContext | null = claimed.document
      ? { job: claimed.job, document: claimed.document, workerId: worker, signal, scratch: {} }
      : null;
    for (let step = 0; step < 20; step++) {
      if (!ctx) return 'stale';
      const { job } = ctx;
      if (job.state !== 'working' || job.claimedBy !== worker) return 'stale';
      const handler = this.handlers.get(job.stage);
      if (!handler) throw new Error(`no handler for stage ${job.stage}`);

      let result: StageResult;
      const timer = this.metrics.startStageTimer(job.stage);
      try {
        result = await handler.run(ctx);
        signal.throwIfAborted();
        timer(result.type === 'advance' ? 'ok' : 'pending');
      } catch (e) {
        timer(leaseLost.aborted ? 'lost' : shutdown.aborted ? 'released' : 'error');
        if (leaseLost.aborted) return 'lost';
        if (shutdown.aborted) return this.release(job);
        return this.fail(job, e);
      }

      let next: UploadJobEntity;
      try {
        const outcome = await this.commit(job, result);
        if (typeof outcome === 'string') return outcome;
        next = Object.assign(new UploadJobEntity(), job, {
          stage: outcome.to.stage,
          state: outcome.to.state,
          retryCount: 0,
          lastError: null,
          parserJobId: result.type === 'advance' && result.parserJobId ? result.parserJobId : job.parserJobId,
          progress: { ...job.progress, ...(result.type === 'advance' ? result.progress : {}) },
        });
      } catch (e) {
        if (e instanceof LeaseLostError) return 'lost';
        return this.fail(job, e);
      }
      if (shutdown.aborted) return this.release(next);
      if (result.type === 'advance' && result.commit) {
        const again = await this.load(job.jobId, signal);
        ctx = again && { ...again, scratch: ctx.scratch };
      } else {
        const document = result.type === 'advance' && result.document ? withWrites(ctx.document, result.document) : ctx.document;
        ctx = { ...ctx, job: next, document };
      }
    }
    return 'stale';
  }

  private async load(jobId: string, signal: AbortSignal): Promise<JobContext | null> {
    const job = await this.ds.getRepository(UploadJobEntity).findOneBy({ jobId });
    if (!job) return null;
    const document = await this.ds.getRepository(DocumentEntity).findOneBy({ documentId: job.documentId });
    if (!document) return null;
    return { job, document, workerId: this.opts.workerId, signal, scratch: {} };
  }

  /**
   * The advance from `from`, followed by the advances through the pass-through stages it lands on (while the
   * job stays in this worker's hands), so that they all go in one statement.
   */
  private advanceEvents(from: JobStatus): JobEvent[] {
    const advance: JobEvent = { type: 'advance', chain: true };
    const events: JobEvent[] = [advance];
    let at = tryTransition(from, advance)?.to;
    while (at && at.state === 'working' && this.handlers.get(at.stage)?.passThrough && events.length < 10) {
      events.push(advance);
      at = tryTransition(at, advance)?.to;
    }
    return events;
  }

  /** Applies the stage's transition; returns the outcome when the job leaves our hands, else the transition. */
  private async commit(job: UploadJobEntity, result: StageResult): Promise<RunOutcome | AppliedTransition> {
    const from = { stage: job.stage, state: 'working' as const };
    const worker = this.opts.workerId;
    if (result.type === 'parser_pending') {
      const t = await this.transitions.apply(job.jobId, from, { type: 'parser_pending' }, {
        workerId: worker,
        nextAttemptAt: result.nextAttemptAt,
      });
      if (t) this.metrics.transition(t.to.stage, t.event);
      return t ? 'waiting' : 'lost';
    }
    const events = this.advanceEvents(from);
    const advance = async (m?: EntityManager): Promise<AppliedTransition | null> => {
      const steps = await this.transitions.applySteps(
        job.jobId,
        from,
        events,
        {
          workerId: worker,
          leaseMs: this.opts.leaseMs,
          progress: result.progress,
          parserJobId: result.parserJobId,
          nextAttemptAt: result.nextAttemptAt,
          lastError: job.lastError ? null : undefined,
          detail: result.detail,
          document: result.document,
        },
        m,
      );
      if (!steps) return null;
      for (const step of steps.slice(0, -1)) this.metrics.transition(step.to.stage, step.event);
      return steps[steps.length - 1];
    };
    // A stage with writes of its own beyond document columns commits them with the transition; otherwise the
    // transition is one statement, atomic by itself, and needs no explicit transaction.
    const t = result.commit
      ? await this.ds.transaction(async (m) => {
          await result.commit?.(m);
          const applied = await advance(m);
          if (!applied) throw new LeaseLostError();
          return applied;
        })
      : await advance();
    if (!t) return 'lost';
    this.metrics.transition(t.to.stage, t.event);
    this.logger.debug(`job ${job.jobId}: ${job.stage} -> ${t.to.stage}/${t.to.state}`);
    if (t.to.state === 'done') return 'done';
    if (t.to.state === 'waiting') {
      await this.catchEarlyWebhook(job.jobId, result.parserJobId);
      return 'waiting';
    }
    return t;
  }

  /**
   * The parser may call back before the job reached `parsing`/`waiting` (the webhook then found it
   * still at parse_queued and could only log it). Look for such a webhook and wake the job up.
   */
  private async catchEarlyWebhook(jobId: string, parserJobId: string | undefined): Promise<void> {
    if (!parserJobId) return;
    const seen = (await runPrepared(this.ds, prepared(`SELECT 1 FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = $2 LIMIT 1`),
      [jobId, parserJobId],
    )) as unknown[];
    if (seen.length) {
      await this.transitions.apply(jobId, { stage: 'parsing', state: 'waiting' }, { type: 'parser_finished' }, { actor: 'worker' });
    }
  }

  private async release(job: Pick<UploadJobEntity, 'jobId' | 'stage'>): Promise<RunOutcome> {
    const t = await this.transitions.apply(
      job.jobId,
      { stage: job.stage, state: 'working' },
      { type: 'release' },
      {
        workerId: this.opts.workerId,
        detail: { reason: 'shutdown' },
        // a parse job goes back to waiting for its webhook: poll soon in case it came meanwhile
        nextAttemptAt: job.stage === 'parsing' ? new Date(Date.now() + this.opts.parserPollIntervalMs) : undefined,
      },
    );
    return t ? 'released' : 'lost';
  }

  private async fail(job: UploadJobEntity, e: unknown): Promise<RunOutcome> {
    // The owner deleted the document meanwhile (cascading to the job): its writes failed (missing
    // objects, foreign keys). Nothing to retry and nothing to record.
    const [{ exists }] = (await runPrepared(this.ds, prepared(`SELECT EXISTS (SELECT 1 FROM upload_pipeline.upload_jobs WHERE job_id = $1) AS exists`),
      [job.jobId],
    )) as { exists: boolean }[];
    if (!exists) {
      this.logger.log(`job ${job.jobId} at ${job.stage}: the document was deleted; stopping`);
      return 'stale';
    }
    const err: ClassifiedError = e instanceof TransientError || e instanceof PermanentError ? e : classifyError(e);
    const decision = decideFailure(err.kind, job.retryCount, this.opts.retryPolicy, {
      retryAfterMs: err instanceof TransientError ? err.retryAfterMs : undefined,
    });
    const lastError: JobError = {
      kind: err.kind,
      code: err.code,
      message: err.message.slice(0, 2000),
      stage: job.stage,
      at: new Date().toISOString(),
      attempts: job.retryCount + 1,
      ...(err.service ? { service: err.service } : {}),
    };
    const from = { stage: job.stage, state: 'working' as const };
    if (decision.event === 'fail_transient') {
      const t = await this.transitions.apply(job.jobId, from, { type: 'fail_transient' }, {
        workerId: this.opts.workerId,
        lastError,
        nextAttemptAt: new Date(Date.now() + decision.delayMs),
        detail: { code: err.code, delay_ms: decision.delayMs },
      });
      if (t) this.metrics.retry(job.stage, err.code);
      this.logger.warn(`job ${job.jobId} at ${job.stage}: transient ${err.code}: ${err.message} (retry in ${decision.delayMs} ms)`);
      return t ? 'retryable' : 'lost';
    }
    const t = await this.transitions.apply(job.jobId, from, { type: 'fail_permanent' }, {
      workerId: this.opts.workerId,
      lastError: { ...lastError, kind: 'permanent', code: decision.reason === 'attempts_exhausted' ? `attempts_exhausted:${err.code}` : err.code },
      detail: { code: err.code, reason: decision.reason },
    });
    if (t) this.metrics.deadletter(job.stage, err.code);
    this.logger.warn(`job ${job.jobId} at ${job.stage}: dead-lettered (${decision.reason}): ${err.code}: ${err.message}`);
    return t ? 'deadletter' : 'lost';
  }
}

/** The document as the transition's statement left it. */
function withWrites(document: DocumentEntity, writes: DocumentWrites): DocumentEntity {
  const out = Object.assign(new DocumentEntity(), document);
  if (writes.parsedPath !== undefined) out.parsedPath = writes.parsedPath;
  if (writes.pageCount !== undefined) out.pageCount = writes.pageCount;
  if (writes.parsedSha256 !== undefined) out.parsedSha256 = writes.parsedSha256;
  return out;
}
