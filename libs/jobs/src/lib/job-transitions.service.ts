import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { JobError, JobProgress, ProcessingStatus } from '@app/database';
import { JobEvent, JobStatus, TransitionResult, tryTransition } from '@app/state-machine';

export interface TransitionOptions {
  /** The worker that holds (or takes) the lease. Required when the job is `working`: it fences the update. */
  workerId?: string;
  /** Lease length when the transition holds the lease. */
  leaseMs?: number;
  /** When a retryable or waiting job becomes due. */
  nextAttemptAt?: Date | null;
  /** Set (or clear with null) last_error. */
  lastError?: JobError | null;
  /** Merged into progress (jsonb ||). */
  progress?: JobProgress;
  parserJobId?: string | null;
  /** Correlation id for the event row; defaults to the job's own. */
  correlationId?: string;
  actor?: string;
  detail?: Record<string, unknown>;
}

export interface AppliedTransition extends TransitionResult {
  jobId: string;
  documentId: string;
  correlationId: string;
  retryCount: 'increment' | 'reset' | 'keep';
}

function documentStatus(to: JobStatus): ProcessingStatus | null {
  if (to.state === 'done') return 'complete';
  if (to.state === 'deadletter') return 'failed';
  if (to.stage === 'uploaded') return 'pending';
  return 'processing';
}

/**
 * Applies state-machine transitions to job rows. Each call is ONE SQL statement (so one transaction on
 * its own, or part of the caller's transaction when a manager is passed) that
 *  - updates the job only if it is still at `from` (and, when it is `working`, still leased by `workerId`):
 *    a compare-and-set, so a stale worker or a replayed request changes nothing,
 *  - writes the event row with the correlation id,
 *  - keeps documents.processing_status in step.
 * Returns null when the job was not at `from` any more (the caller does nothing: idempotency).
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
    const t = tryTransition(from, event);
    if (!t) return null;
    if (from.state === 'working' && !opts.workerId) throw new Error('workerId is required to move a working job');
    if (t.holdsLease && (!opts.workerId || !opts.leaseMs)) throw new Error('workerId and leaseMs are required to hold a lease');

    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const sets = [
      `stage = ${p(t.to.stage)}`,
      `state = ${p(t.to.state)}`,
      `updated_at = now()`,
      t.holdsLease ? `claimed_by = ${p(opts.workerId)}` : `claimed_by = NULL`,
      t.holdsLease ? `lease_expires_at = now() + ${p(opts.leaseMs)}::double precision * interval '1 millisecond'` : `lease_expires_at = NULL`,
    ];
    if (t.retryCount === 'increment') sets.push(`retry_count = retry_count + 1`);
    if (t.retryCount === 'reset') sets.push(`retry_count = 0`);
    if (opts.nextAttemptAt !== undefined) sets.push(`next_attempt_at = ${p(opts.nextAttemptAt)}`);
    else if (t.to.state === 'queued' || t.to.state === 'working' || t.to.state === 'done') sets.push(`next_attempt_at = NULL`);
    if (opts.lastError !== undefined) sets.push(`last_error = ${p(opts.lastError === null ? null : JSON.stringify(opts.lastError))}::jsonb`);
    if (opts.progress) sets.push(`progress = progress || ${p(JSON.stringify(opts.progress))}::jsonb`);
    if (opts.parserJobId !== undefined) sets.push(`parser_job_id = ${p(opts.parserJobId)}`);
    if (t.to.state === 'done') sets.push(`completed_at = now()`);

    const where = [`job_id = ${p(jobId)}`, `stage = ${p(from.stage)}`, `state = ${p(from.state)}`];
    if (from.state === 'working') where.push(`claimed_by = ${p(opts.workerId)}`);

    const docStatus = documentStatus(t.to);
    const sql = `
      WITH upd AS (
        UPDATE upload_pipeline.upload_jobs SET ${sets.join(', ')}
        WHERE ${where.join(' AND ')}
        RETURNING job_id, document_id, correlation_id
      ), ev AS (
        INSERT INTO upload_pipeline.events
          (job_id, document_id, event_type, stage, from_stage, from_state, to_state, correlation_id, actor, detail)
        SELECT job_id, document_id, ${p(t.event)}, ${p(t.to.stage)}, ${p(from.stage)}, ${p(from.state)}, ${p(t.to.state)},
               COALESCE(${p(opts.correlationId ?? null)}, correlation_id), ${p(opts.actor ?? opts.workerId ?? null)},
               ${p(opts.detail ? JSON.stringify(opts.detail) : null)}::jsonb
        FROM upd
      ), doc AS (
        UPDATE upload_pipeline.documents d SET processing_status = ${p(docStatus)}, updated_at = now()
        FROM upd WHERE d.document_id = upd.document_id AND d.processing_status IS DISTINCT FROM ${p(docStatus)}
      )
      SELECT job_id, document_id, correlation_id FROM upd`;
    const rows = (await (manager ?? this.ds.manager).query(sql, params)) as {
      job_id: string;
      document_id: string;
      correlation_id: string;
    }[];
    if (!rows.length) return null;
    return {
      ...t,
      jobId: rows[0].job_id,
      documentId: rows[0].document_id,
      correlationId: opts.correlationId ?? rows[0].correlation_id,
    };
  }
}
