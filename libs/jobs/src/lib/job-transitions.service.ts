import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { prepared, runPrepared, type JobError, type JobProgress, type ProcessingStatus } from '@app/database';
import { JobEvent, JobStatus, TransitionResult, tryTransition } from '@app/state-machine';

/** Document columns a transition may write in its own statement (atomically with the job and its event). */
export interface DocumentWrites {
  parsedPath?: string;
  pageCount?: number;
  parsedSha256?: string;
}

const DOCUMENT_COLUMNS: Record<keyof DocumentWrites, string> = {
  parsedPath: 'parsed_path',
  pageCount: 'page_count',
  parsedSha256: 'parsed_sha256',
};

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
  /** Written to the event row (of the first step, when several are applied at once; not with `steps`). */
  detail?: Record<string, unknown>;
  /** Document columns written in the same statement. */
  document?: DocumentWrites;
  /**
   * Per step of `applySteps`, aligned with its events: each event row's own detail (instead of `detail` on
   * the first) and when the step happened, for steps whose transition was committed later than they were done.
   */
  steps?: readonly TransitionStep[];
  /** The caller's own writes, in the transition's statement (one round trip, atomic with it). */
  writes?: StatementWrites;
}

/** Binds a value as the statement's next parameter and returns its placeholder (`$n`). */
export type BindParam = (value: unknown) => string;

/**
 * Writes that go in the transition's own statement, as common table expressions around its update of the job
 * row (named `upd`; the names `upd`, `ev` and `doc` are taken). All of them read the statement's one snapshot.
 * `before` and `after` write other rows only: the job's row is the transition's, and the document's columns go in
 * `documentSets` (one statement cannot update a row twice).
 */
export interface StatementWrites {
  /** CTEs before the job's update (a check it requires, say), without `WITH`. */
  before?: (p: BindParam) => string;
  /** A boolean SQL expression the job's update requires besides its compare-and-set (it may read `before`). */
  requires?: string;
  /**
   * CTEs after the job's update; they may read `upd`, which has the job's row when the transition applied and
   * no row otherwise, so `WHERE EXISTS (SELECT 1 FROM upd)` makes a write happen only with the transition.
   */
  after?: (p: BindParam) => string;
  /** Columns of the document's row set by the transition's own update of it (column -> SQL expression). */
  documentSets?: (p: BindParam) => Record<string, string>;
  /** A SQL expression evaluated whether or not the transition applied, handed to `onReport`. */
  report?: string;
  /**
   * Gets the report, and whether the transition applied, before the result is returned. A throw reaches the caller
   * after the statement ran, so throw only for a transition that did not apply (nothing was written then).
   */
  onReport?: (report: unknown, applied: boolean) => void;
}

/** One step's event row, when a statement commits steps that happened at different times. */
export interface TransitionStep {
  detail?: Record<string, unknown>;
  /**
   * The step was done this long before the statement runs: its event's created_at is statement_timestamp() minus
   * this (not now(): in a transaction that is its start, before the caller's earlier statements in it ran).
   */
  agoMs?: number;
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
 *  - writes the event row with the correlation id (one row per transition),
 *  - keeps documents.processing_status in step (and writes the caller's document columns, if any).
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
    const steps = await this.applySteps(jobId, from, [event], opts, manager);
    return steps ? steps[0] : null;
  }

  /**
   * Applies consecutive transitions (each decided by the state machine from where the one before left
   * the job) in ONE statement: the job row ends at the last one, and every transition still writes its
   * own event row, in order. Used for hand-over stages that do no work of their own. All or nothing:
   * null when any step is not allowed or the job was not at `from`.
   */
  async applySteps(
    jobId: string,
    from: JobStatus,
    events: readonly JobEvent[],
    opts: TransitionOptions = {},
    manager?: EntityManager,
  ): Promise<AppliedTransition[] | null> {
    if (!events.length) return null;
    const steps: TransitionResult[] = [];
    let at = from;
    for (const event of events) {
      const t = tryTransition(at, event);
      if (!t) return null;
      steps.push(t);
      at = t.to;
    }
    const last = steps[steps.length - 1];
    if (from.state === 'working' && !opts.workerId) throw new Error('workerId is required to move a working job');
    if (last.holdsLease && (!opts.workerId || !opts.leaseMs)) throw new Error('workerId and leaseMs are required to hold a lease');

    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const sets = [
      `stage = ${p(last.to.stage)}`,
      `state = ${p(last.to.state)}`,
      `updated_at = now()`,
      last.holdsLease ? `claimed_by = ${p(opts.workerId)}` : `claimed_by = NULL`,
      last.holdsLease ? `lease_expires_at = now() + ${p(opts.leaseMs)}::double precision * interval '1 millisecond'` : `lease_expires_at = NULL`,
    ];
    // retry_count after all steps, in order: a reset starts from 0, each increment adds one
    let reset = false;
    let add = 0;
    for (const t of steps) {
      if (t.retryCount === 'reset') {
        reset = true;
        add = 0;
      }
      if (t.retryCount === 'increment') add++;
    }
    if (reset) sets.push(`retry_count = ${add}`);
    else if (add) sets.push(`retry_count = retry_count + ${add}`);
    if (opts.nextAttemptAt !== undefined) sets.push(`next_attempt_at = ${p(opts.nextAttemptAt)}`);
    else if (last.to.state === 'queued' || last.to.state === 'working' || last.to.state === 'done') sets.push(`next_attempt_at = NULL`);
    if (opts.lastError !== undefined) sets.push(`last_error = ${p(opts.lastError === null ? null : JSON.stringify(opts.lastError))}::jsonb`);
    if (opts.progress) sets.push(`progress = progress || ${p(JSON.stringify(opts.progress))}::jsonb`);
    if (opts.parserJobId !== undefined) sets.push(`parser_job_id = ${p(opts.parserJobId)}`);
    if (last.to.state === 'done') sets.push(`completed_at = now()`);

    const where = [`job_id = ${p(jobId)}`, `stage = ${p(from.stage)}`, `state = ${p(from.state)}`];
    if (from.state === 'working') where.push(`claimed_by = ${p(opts.workerId)}`);

    const correlation = p(opts.correlationId ?? null);
    const actor = p(opts.actor ?? opts.workerId ?? null);
    // a function: only the texts that use it take the parameter (an unused one has no type)
    const detail = () => p(opts.detail ? JSON.stringify(opts.detail) : null);
    // one event row per step, in order (event_id follows the ORDER BY); with `steps`, each row has its own
    // detail and date
    let eventColumns = 'job_id, document_id, event_type, stage, from_stage, from_state, to_state, correlation_id, actor, detail';
    let eventRows: string;
    const info = opts.steps;
    if (info) {
      if (info.length !== steps.length) throw new Error(`steps: ${info.length} given for ${steps.length} events`);
      if (opts.detail) throw new Error('detail and steps: give each step its detail in steps');
    }
    if (steps.length === 1 && !info) {
      eventRows = `SELECT job_id, document_id, ${p(last.event)}, ${p(last.to.stage)}, ${p(from.stage)}, ${p(from.state)}, ${p(last.to.state)},
                 COALESCE(${correlation}, correlation_id), ${actor}, ${detail()}::jsonb
           FROM upd`;
    } else {
      if (info) eventColumns += ', created_at';
      const rows = steps.map((t, i) => {
        const stepDetail = info ? `${p(info[i].detail ? JSON.stringify(info[i].detail) : null)}::jsonb` : i === 0 ? `${detail()}::jsonb` : 'NULL::jsonb';
        const ago = info ? `, ${p(Math.max(0, info[i].agoMs ?? 0))}::double precision` : '';
        return `(${i}, ${p(t.event)}, ${p(t.to.stage)}, ${p(t.from.stage)}, ${p(t.from.state)}, ${p(t.to.state)}, ${stepDetail}${ago})`;
      });
      eventRows = `SELECT upd.job_id, upd.document_id, s.event_type, s.stage, s.from_stage, s.from_state, s.to_state,
                 COALESCE(${correlation}, upd.correlation_id), ${actor}, s.detail${info ? `, statement_timestamp() - s.ago_ms * interval '1 millisecond'` : ''}
           FROM upd, (VALUES ${rows.join(', ')}) AS s (n, event_type, stage, from_stage, from_state, to_state, detail${info ? ', ago_ms' : ''})
           ORDER BY s.n`;
    }

    const docStatus = documentStatus(last.to);
    const docSets = [`processing_status = ${p(docStatus)}`, `updated_at = now()`];
    let docWrites = false;
    for (const [k, col] of Object.entries(DOCUMENT_COLUMNS) as [keyof DocumentWrites, string][]) {
      const v = opts.document?.[k];
      if (v === undefined) continue;
      docSets.push(`${col} = ${p(v)}`);
      docWrites = true;
    }
    const w = opts.writes;
    for (const [col, expr] of Object.entries(w?.documentSets?.(p) ?? {})) {
      docSets.push(`${col} = ${expr}`);
      docWrites = true;
    }
    if (w?.requires) where.push(`(${w.requires})`);
    const before = w?.before ? `${w.before(p)}, ` : '';
    const after = w?.after ? `, ${w.after(p)}` : '';
    const docWhere = docWrites ? '' : ` AND d.processing_status IS DISTINCT FROM ${p(docStatus)}`;
    // with a report, one row whether or not the transition applied (job_id null when it did not)
    const result = w?.report
      ? `SELECT upd.job_id, upd.document_id, upd.correlation_id, (${w.report}) AS report FROM (SELECT 1) AS one LEFT JOIN upd ON true`
      : `SELECT job_id, document_id, correlation_id FROM upd`;
    const sql = `
      WITH ${before}upd AS (
        UPDATE upload_pipeline.upload_jobs SET ${sets.join(', ')}
        WHERE ${where.join(' AND ')}
        RETURNING job_id, document_id, correlation_id
      )${after}, ev AS (
        INSERT INTO upload_pipeline.events (${eventColumns})
        ${eventRows}
      ), doc AS (
        UPDATE upload_pipeline.documents d SET ${docSets.join(', ')}
        FROM upd WHERE d.document_id = upd.document_id${docWhere}
      )
      ${result}`;
    // prepared per distinct text: the options and step lists make a bounded set of texts
    const rows = await runPrepared<{ job_id: string | null; document_id: string; correlation_id: string; report?: unknown }>(
      manager ?? this.ds,
      prepared(sql),
      params,
    );
    const out = rows.filter((r) => r.job_id !== null);
    w?.onReport?.(rows[0]?.report, out.length > 0);
    if (!out.length) return null;
    return steps.map((t) => ({
      ...t,
      jobId: out[0].job_id as string,
      documentId: out[0].document_id,
      correlationId: opts.correlationId ?? out[0].correlation_id,
    }));
  }
}
