import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { prepared, runPrepared } from '@app/database';
import { TransientError } from '@app/errors';
import { JobEvent, JobStatus, TransitionResult } from '@app/state-machine';
import type { StageWrite, StageWriteReport } from './stage-writes';
import { writeSql } from './stage-writes.sql';
import { renderTransition } from './transition.sql';
import { planTransition, TransitionOptions } from './transition-planner';

export interface AppliedTransition extends TransitionResult {
  jobId: string;
  documentId: string;
  correlationId: string;
}

/** A transition's options with a stage's own write in its statement. */
export interface TransitionWithWrite extends TransitionOptions {
  write?: StageWrite;
}

/** What a transition statement did: the steps applied (null: the job was not at `from`), and the write's report. */
export interface TransitionOutcome {
  applied: AppliedTransition[] | null;
  report?: StageWriteReport;
}

/**
 * Applies state-machine transitions to job rows: `planTransition` decides (pure), `renderTransition` writes the SQL,
 * and each call is ONE statement (one transaction on its own, or part of the caller's when a manager is passed). A
 * transition whose job was not at `from` any more changes nothing and returns null: the caller does nothing
 * (idempotency).
 */
@Injectable()
export class JobTransitionsService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async apply(
    jobId: string,
    from: JobStatus,
    event: JobEvent,
    opts: TransitionOptions = {},
    manager?: EntityManager,
  ): Promise<AppliedTransition | null> {
    const steps = await this.applySteps(jobId, from, [event], opts, manager);
    return steps ? steps[0] : null;
  }

  /**
   * Applies consecutive transitions (each decided by the state machine from where the one before left the job) in ONE
   * statement: the job row ends at the last one, and every transition still writes its own event row, in order. All or
   * nothing: null when any step is not allowed or the job was not at `from`.
   */
  async applySteps(
    jobId: string,
    from: JobStatus,
    events: readonly JobEvent[],
    opts: TransitionWithWrite = {},
    manager?: EntityManager,
  ): Promise<AppliedTransition[] | null> {
    return (await this.transition(jobId, from, events, opts, manager)).applied;
  }

  /**
   * `applySteps` with the write's report. A finalize whose document still has chunks without a vector applies nothing
   * and throws a transient `vectors_missing` error (it is retried once the vectors are there).
   */
  async transition(
    jobId: string,
    from: JobStatus,
    events: readonly JobEvent[],
    opts: TransitionWithWrite = {},
    manager?: EntityManager,
  ): Promise<TransitionOutcome> {
    const { write, ...options } = opts;
    const plan = planTransition(jobId, from, events, options);
    if (!plan) return { applied: null };
    const { text, params } = renderTransition(plan, write && writeSql(write));
    // prepared per distinct text: the options and step lists make a bounded set of texts
    const rows = await runPrepared<{ job_id: string | null; document_id: string; correlation_id: string; report?: unknown }>(
      manager ?? this.ds,
      prepared(text),
      params,
    );
    const out = rows.filter((r) => r.job_id !== null);
    const report = write && reportOf(write, rows[0]?.report);
    // (any non-zero count, however the driver hands it over: a refusal must fail the stage, not look like a lost lease)
    if (report?.kind === 'finalize' && report.missing > 0 && !out.length) {
      throw new TransientError(`${report.missing} chunks have no vector yet`, { code: 'vectors_missing' });
    }
    if (!out.length) return { applied: null, report };
    const applied = plan.steps.map((t) => ({
      ...t,
      jobId: out[0].job_id as string,
      documentId: out[0].document_id,
      correlationId: plan.correlationId ?? out[0].correlation_id,
    }));
    return { applied, report };
  }
}

function reportOf(write: StageWrite, value: unknown): StageWriteReport {
  switch (write.kind) {
    case 'buffer_chunks':
      return { kind: 'buffer_chunks', bufferedBefore: Number(value ?? 0) };
    case 'finalize':
      return { kind: 'finalize', missing: Number(value ?? 0) };
  }
}
