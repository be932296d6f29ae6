import type { JobError, JobProgress, ProcessingStatus } from '@app/database';
import { JobEvent, JobState, JobStatus, Stage, TransitionResult, tryTransition } from '@app/state-machine';

/** Document columns a transition may write in its own statement (atomically with the job and its event). */
export interface DocumentWrites {
  parsedPath?: string;
  pageCount?: number;
  parsedSha256?: string;
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

/** What a transition writes besides the job's stage and state (all optional). */
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
   * Per step, aligned with the events: each event row's own detail (instead of `detail` on the first) and when the
   * step happened, for steps whose transition is committed later than they were done.
   */
  steps?: readonly TransitionStep[];
}

/** A column set to a value, kept as it is, or (for counters) moved by an amount. */
export type RetryCountPlan = { op: 'keep' } | { op: 'set'; value: number } | { op: 'add'; value: number };

/** The job row's new values; `undefined` fields are left as they are. */
export interface JobRowPlan {
  stage: Stage;
  state: JobState;
  /** Held by this worker for this long, or released (claimed_by and lease_expires_at cleared). */
  lease: { workerId: string; leaseMs: number } | null;
  retryCount: RetryCountPlan;
  /** A date, null to clear it, undefined to keep it. */
  nextAttemptAt?: Date | null;
  lastError?: JobError | null;
  progress?: JobProgress;
  parserJobId?: string | null;
  /** completed_at is set (the job is done). */
  completed: boolean;
}

/** The compare-and-set: the job must still be here (and, when working, held by this worker). */
export interface JobGuard {
  stage: Stage;
  state: JobState;
  claimedBy?: string;
}

/** One event row. */
export interface PlannedEvent {
  eventType: TransitionResult['event'];
  stage: Stage;
  fromStage: Stage;
  fromState: JobState;
  toState: JobState;
  detail: Record<string, unknown> | null;
  /** Dated this long before the statement (only in a plan whose `datedEvents` is true). */
  agoMs?: number;
}

/** The document's row, kept in step with the job. */
export interface DocumentPlan {
  processingStatus: ProcessingStatus;
  columns: DocumentWrites;
}

/**
 * A transition as data: what the job row becomes, what it must be now, the event rows and the document's update.
 * Made by `planTransition` (pure), turned into SQL by the renderer.
 */
export interface TransitionPlan {
  jobId: string;
  steps: TransitionResult[];
  job: JobRowPlan;
  guard: JobGuard;
  events: PlannedEvent[];
  /** Each event row has its own date (`agoMs`): the steps were done at different times. */
  datedEvents: boolean;
  /** The correlation id for the events; null: the job's own. */
  correlationId: string | null;
  actor: string | null;
  document: DocumentPlan;
}

function documentStatus(to: JobStatus): ProcessingStatus {
  if (to.state === 'done') return 'complete';
  if (to.state === 'deadletter') return 'failed';
  if (to.stage === 'uploaded') return 'pending';
  return 'processing';
}

/** retry_count after all steps, in order: a reset starts from 0, each increment adds one. */
function retryCountAfter(steps: readonly TransitionResult[]): RetryCountPlan {
  let reset = false;
  let add = 0;
  for (const t of steps) {
    if (t.retryCount === 'reset') {
      reset = true;
      add = 0;
    }
    if (t.retryCount === 'increment') add++;
  }
  if (reset) return { op: 'set', value: add };
  return add ? { op: 'add', value: add } : { op: 'keep' };
}

/**
 * Plans consecutive transitions from `from` (each decided by the state machine from where the one before left the
 * job): the job row ends at the last one, and every transition has its own event row, in order. Null when any step is
 * not allowed. Throws on options that cannot go together (a caller's bug).
 */
export function planTransition(
  jobId: string,
  from: JobStatus,
  events: readonly JobEvent[],
  opts: TransitionOptions = {},
): TransitionPlan | null {
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
  const info = opts.steps;
  if (info) {
    if (info.length !== steps.length) throw new Error(`steps: ${info.length} given for ${steps.length} events`);
    if (opts.detail) throw new Error('detail and steps: give each step its detail in steps');
  }

  const to = last.to;
  const job: JobRowPlan = {
    stage: to.stage,
    state: to.state,
    lease: last.holdsLease ? { workerId: opts.workerId as string, leaseMs: opts.leaseMs as number } : null,
    retryCount: retryCountAfter(steps),
    completed: to.state === 'done',
  };
  if (opts.nextAttemptAt !== undefined) job.nextAttemptAt = opts.nextAttemptAt;
  else if (to.state === 'queued' || to.state === 'working' || to.state === 'done') job.nextAttemptAt = null;
  if (opts.lastError !== undefined) job.lastError = opts.lastError;
  if (opts.progress) job.progress = opts.progress;
  if (opts.parserJobId !== undefined) job.parserJobId = opts.parserJobId;

  const guard: JobGuard = { stage: from.stage, state: from.state };
  if (from.state === 'working') guard.claimedBy = opts.workerId;

  const planned = steps.map((t, i): PlannedEvent => {
    const detail = info ? (info[i].detail ?? null) : i === 0 ? (opts.detail ?? null) : null;
    const e: PlannedEvent = { eventType: t.event, stage: t.to.stage, fromStage: t.from.stage, fromState: t.from.state, toState: t.to.state, detail };
    if (info) e.agoMs = Math.max(0, info[i].agoMs ?? 0);
    return e;
  });

  const columns: DocumentWrites = {};
  for (const k of ['parsedPath', 'pageCount', 'parsedSha256'] as const) {
    const v = opts.document?.[k];
    if (v !== undefined) (columns as Record<string, unknown>)[k] = v;
  }

  return {
    jobId,
    steps,
    job,
    guard,
    events: planned,
    datedEvents: !!info,
    correlationId: opts.correlationId ?? null,
    actor: opts.actor ?? opts.workerId ?? null,
    document: { processingStatus: documentStatus(to), columns },
  };
}
