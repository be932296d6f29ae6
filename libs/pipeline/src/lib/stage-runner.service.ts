import { Inject, Injectable, Logger } from '@nestjs/common';
import { classifyError, ClassifiedError, PermanentError, TransientError } from '@app/errors';
import { DocumentEntity, JobError, JobProgress, UploadJobEntity } from '@app/database';
import {
  AppliedTransition,
  DocumentWrites,
  JobStore,
  JobTransitionsService,
  StageWriteReport,
  TransitionOutcome,
  TransitionStep,
  TransitionWithWrite,
} from '@app/jobs';
import { MetricsService } from '@app/observability';
import { decideFailure, JobEvent, JobStatus, Stage, tryTransition } from '@app/state-machine';
import type { ClaimedJob } from '@app/jobs';
import { AdvanceResult, JobContext, STAGE_HANDLERS, StageHandler, StageResult } from './job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from './pipeline.options';

/**
 * A stage whose work is done and whose transition waits to go in the statement of the next one (its handler
 * `commitsWithNext`): the job row still says it is at that stage, in this worker's hands.
 */
interface DeferredStep {
  /** Its advance, then the advances through the pass-through stages it lands on. */
  readonly events: JobEvent[];
  readonly result: AdvanceResult;
  /** performance.now() when its work was done (its events are dated then). */
  readonly doneAt: number;
  /** Its handler, and the context it ran with (for `writeHandedOver`). */
  readonly handler: StageHandler;
  readonly ctx: JobContext;
}

export type RunOutcome = 'waiting' | 'done' | 'retryable' | 'deadletter' | 'released' | 'lost' | 'stale';

/**
 * Carries one claimed job through as many stages as it can in one claim. It starts from the job and document
 * rows the claim statement returned (do nothing if the job moved on or is not ours), runs each stage's
 * handler, and applies the transition with the handler's writes (document columns, and writes of its own as
 * parts of the same statement): one statement a transition, no explicit transaction. Pass-through stages are
 * applied in the same statement as the transition that reached them. The transition of a stage whose handler `commitsWithNext` waits and
 * goes in the next stage's statement (one commit for both; each keeps its own event, dated when it was done); what
 * it handed over for that statement to write (`writeHandedOver`) is written on its own before its transition goes in
 * any other. Failures are classified and become `retryable` with backoff or `deadletter` with the reason.
 */
@Injectable()
export class StageRunner {
  private readonly logger = new Logger(StageRunner.name);
  private readonly handlers = new Map<Stage, StageHandler>();

  constructor(
    private readonly store: JobStore,
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
      ? {
          job: claimed.job,
          document: claimed.document,
          workerId: worker,
          signal,
          scratch: {
            ...(claimed.parserReportedStatus ? { parserReportedStatus: claimed.parserReportedStatus } : {}),
            ...(claimed.fromState === 'working' ? { takenOver: true } : {}),
          },
        }
      : null;
    // stages done whose transitions wait for the next statement; the job row is still at `committedStage`
    let deferred: DeferredStep[] = [];
    let committedStage = claimed.job.stage;
    // the claimed row's last_error, cleared by the first transition that moves the job on
    let clearError = claimed.job.lastError != null;
    const held = (): Held => ({ jobId: claimed.jobId, committedStage, deferred, clearError });
    // A job claimed ahead may reach here with the lease already lost or the worker stopping: no work then.
    if (leaseLost.aborted) return 'lost';
    if (shutdown.aborted) return this.release(held(), committedStage);
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
        if (shutdown.aborted) return this.release(held(), job.stage);
        return this.fail(held(), job, e);
      }

      const { events, to: landed } = result.type === 'advance' ? this.advanceEvents({ stage: job.stage, state: 'working' }) : { events: [], to: null };
      const deferrable = handler.commitsWithNext && landed?.state === 'working' && this.handlers.has(landed.stage);
      if (deferrable && result.type === 'advance' && !result.write && !result.parserJobId) {
        // Its transition goes with the next stage's: the next handler runs on the job as that transition leaves it.
        deferred = [...deferred, { events, result, doneAt: performance.now(), handler, ctx }];
        ctx = { ...ctx, job: movedOn(job, landed, result), document: documentAfter(ctx.document, result) };
        continue;
      }

      let next: UploadJobEntity;
      try {
        const current = ctx;
        // what was handed over for a statement other than this one goes in first: the deferred stages' (unless this
        // statement takes them), and this stage's own when it commits on its own
        if (result.type === 'advance') {
          if (!handler.takesHandOvers) await this.writeHandedOver(held());
          await handler.writeHandedOver?.(current);
        }
        const outcome = await this.commit(held(), job.stage, events, result, (report) => {
          if (result.type === 'advance') handler.committed?.(current, result, report);
        });
        if (typeof outcome === 'string') return outcome;
        next = movedOn(job, outcome.to, result);
        deferred = [];
        committedStage = outcome.to.stage;
        clearError = false;
      } catch (e) {
        return this.fail(held(), job, e);
      }
      if (shutdown.aborted) return this.release(held(), next.stage);
      // (finalize, the one write that sets a document column in SQL, ends the job: its copy is never read again)
      ctx = { ...ctx, job: next, document: documentAfter(ctx.document, result) };
    }
    return 'stale';
  }

  /**
   * The advance from `from`, followed by the advances through the pass-through stages it lands on (while the
   * job stays in this worker's hands), so that they all go in one statement; and where they leave the job
   * (null when the advance is not allowed).
   */
  private advanceEvents(from: JobStatus): { events: JobEvent[]; to: JobStatus | null } {
    const advance: JobEvent = { type: 'advance', chain: true };
    const events: JobEvent[] = [advance];
    let at = tryTransition(from, advance)?.to;
    while (at && at.state === 'working' && this.handlers.get(at.stage)?.passThrough && events.length < 10) {
      events.push(advance);
      at = tryTransition(at, advance)?.to;
    }
    return { events, to: at ?? null };
  }

  /**
   * Applies the deferred steps' transitions and then `tail` (events from `stage`, this worker's, `working`) in
   * ONE statement (with the stage's own `writes`, if any). Each step's event carries its own detail and is dated when
   * its work was done; the deferred steps' progress and document columns are written with it. Every applied step
   * but the last is counted in the transition metrics here; the caller decides about the last.
   */
  private async applyHeld(
    held: Held,
    tail: readonly JobEvent[],
    tailDetail: Record<string, unknown> | undefined,
    opts: TransitionWithWrite,
  ): Promise<TransitionOutcome> {
    const from: JobStatus = { stage: held.committedStage, state: 'working' };
    // the claimed row's last_error goes once the job moves on (a stage done), not on a release or another wait
    const movesOn = held.deferred.length > 0 || tail.some((e) => e.type === 'advance');
    const lastError = opts.lastError !== undefined ? opts.lastError : held.clearError && movesOn ? null : undefined;
    const base: TransitionWithWrite = { ...opts, workerId: this.opts.workerId, lastError };
    const outcome = held.deferred.length
      ? await this.applyWithDeferred(held, from, tail, tailDetail, base)
      : await this.transitions.transition(held.jobId, from, tail, { ...base, detail: tailDetail });
    if (outcome.applied) for (const t of outcome.applied.slice(0, -1)) this.metrics.transition(t.to.stage, t.event);
    return outcome;
  }

  private applyWithDeferred(
    held: Held,
    from: JobStatus,
    tail: readonly JobEvent[],
    tailDetail: Record<string, unknown> | undefined,
    opts: TransitionWithWrite,
  ): Promise<TransitionOutcome> {
    const at = performance.now();
    const events: JobEvent[] = [];
    const steps: TransitionStep[] = [];
    let progress: JobProgress | undefined;
    let document: DocumentWrites | undefined;
    for (const d of held.deferred) {
      d.events.forEach((e, i) => {
        events.push(e);
        steps.push({ detail: i === 0 ? d.result.detail : undefined, agoMs: at - d.doneAt });
      });
      if (d.result.progress) progress = { ...progress, ...d.result.progress };
      if (d.result.document) document = { ...document, ...d.result.document };
    }
    tail.forEach((e, i) => {
      events.push(e);
      steps.push({ detail: i === 0 ? tailDetail : undefined });
    });
    if (opts.progress) progress = { ...progress, ...opts.progress };
    if (opts.document) document = { ...document, ...opts.document };
    return this.transitions.transition(held.jobId, from, events, { ...opts, progress, document, steps });
  }

  /** Applies the stage's transition; returns the outcome when the job leaves our hands, else the transition. */
  private async commit(
    held: Held,
    stage: Stage,
    events: JobEvent[],
    result: StageResult,
    committed: (report: StageWriteReport) => void,
  ): Promise<RunOutcome | AppliedTransition> {
    if (result.type === 'parser_pending') {
      const { applied: steps } = await this.applyHeld(held, [{ type: 'parser_pending' }], undefined, { nextAttemptAt: result.nextAttemptAt });
      const t = steps?.[steps.length - 1];
      if (t) this.metrics.transition(t.to.stage, t.event);
      return t ? 'waiting' : 'lost';
    }
    // One statement, atomic by itself: the transition (and the deferred steps before it), the document columns, and
    // the stage's own writes when it has any (`writes`, conditional on the transition applying).
    const { applied: steps, report } = await this.applyHeld(held, events, result.detail, {
      leaseMs: this.opts.leaseMs,
      progress: result.progress,
      parserJobId: result.parserJobId,
      nextAttemptAt: result.nextAttemptAt,
      document: result.document,
      write: result.write,
    });
    const t = steps ? steps[steps.length - 1] : null;
    if (!t) return 'lost';
    if (report) committed(report);
    this.metrics.transition(t.to.stage, t.event);
    this.logger.debug(`job ${held.jobId}: ${stage} -> ${t.to.stage}/${t.to.state}`);
    if (t.to.state === 'done') return 'done';
    if (t.to.state === 'waiting') {
      await this.catchEarlyWebhook(held.jobId, result.parserJobId);
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
    if (await this.store.parserWebhookLogged(jobId, parserJobId)) {
      await this.transitions.apply(jobId, { stage: 'parsing', state: 'waiting' }, { type: 'parser_finished' }, { actor: 'worker' });
    }
  }

  /**
   * Before the deferred steps' transitions are committed without the statement their hand-overs were meant for (a
   * failure or a release): their hand-overs written on their own. If that fails, the error goes up and nothing is
   * committed: the job stays at the deferred stage until its lease runs out, and is done again.
   */
  private async writeHandedOver(held: Held): Promise<void> {
    for (const d of held.deferred) await d.handler.writeHandedOver?.(d.ctx);
  }

  /** Gives the job back at `stage` (shutdown), with the transitions of the stages done before it. */
  private async release(held: Held, stage: Stage): Promise<RunOutcome> {
    await this.writeHandedOver(held);
    const { applied: steps } = await this.applyHeld(held, [{ type: 'release' }], { reason: 'shutdown' }, {
      // a parse job goes back to waiting for its webhook: poll soon in case it came meanwhile
      nextAttemptAt: stage === 'parsing' ? new Date(Date.now() + this.opts.parserPollIntervalMs) : undefined,
    });
    return steps ? 'released' : 'lost';
  }

  /** Fails the job at its stage (`job.stage`), with the transitions of the stages done before it. */
  private async fail(held: Held, job: UploadJobEntity, e: unknown): Promise<RunOutcome> {
    // The owner deleted the document meanwhile (cascading to the job): its writes failed (missing
    // objects, foreign keys). Nothing to retry and nothing to record.
    if (!(await this.store.jobExists(job.jobId))) {
      this.logger.log(`job ${job.jobId} at ${job.stage}: the document was deleted; stopping`);
      return 'stale';
    }
    await this.writeHandedOver(held);
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
    if (decision.event === 'fail_transient') {
      const { applied: t } = await this.applyHeld(held, [{ type: 'fail_transient' }], { code: err.code, delay_ms: decision.delayMs }, {
        lastError,
        nextAttemptAt: new Date(Date.now() + decision.delayMs),
      });
      if (t) this.metrics.retry(job.stage, err.code);
      this.logger.warn(`job ${job.jobId} at ${job.stage}: transient ${err.code}: ${err.message} (retry in ${decision.delayMs} ms)`);
      return t ? 'retryable' : 'lost';
    }
    const { applied: t } = await this.applyHeld(held, [{ type: 'fail_permanent' }], { code: err.code, reason: decision.reason }, {
      lastError: { ...lastError, kind: 'permanent', code: decision.reason === 'attempts_exhausted' ? `attempts_exhausted:${err.code}` : err.code },
    });
    if (t) this.metrics.deadletter(job.stage, err.code);
    this.logger.warn(`job ${job.jobId} at ${job.stage}: dead-lettered (${decision.reason}): ${err.code}: ${err.message}`);
    return t ? 'deadletter' : 'lost';
  }
}

/** The job in this worker's hands, as the database has it and as far as it got since. */
interface Held {
  readonly jobId: string;
  /** The stage the job row is at (`working`, ours). */
  readonly committedStage: Stage;
  /** Stages done since, whose transitions are still to be applied. */
  readonly deferred: readonly DeferredStep[];
  /** The row has a last_error that the next transition clears. */
  readonly clearError: boolean;
}

/** The job as a transition to `to` with the stage's result leaves it (the in-memory copy kept in step). */
function movedOn(job: UploadJobEntity, to: JobStatus, result: StageResult): UploadJobEntity {
  const advance = result.type === 'advance' ? result : undefined;
  return Object.assign(new UploadJobEntity(), job, {
    stage: to.stage,
    state: to.state,
    retryCount: 0,
    lastError: null,
    parserJobId: advance?.parserJobId || job.parserJobId,
    progress: { ...job.progress, ...advance?.progress },
  });
}

/** The document as the stage's document writes leave it. */
function documentAfter(document: DocumentEntity, result: StageResult): DocumentEntity {
  return result.type === 'advance' && result.document ? withWrites(document, result.document) : document;
}

/** The document as the transition's statement left it. */
function withWrites(document: DocumentEntity, writes: DocumentWrites): DocumentEntity {
  const out = Object.assign(new DocumentEntity(), document);
  if (writes.parsedPath !== undefined) out.parsedPath = writes.parsedPath;
  if (writes.pageCount !== undefined) out.pageCount = writes.pageCount;
  if (writes.parsedSha256 !== undefined) out.parsedSha256 = writes.parsedSha256;
  return out;
}
