import { EventType, JobState, JobStatus, Stage, nextStage, WAITING_STAGES } from './stages';

/**
 * Everything that can happen to a job. The pure `transition` function below is the only place that
 * decides whether it may happen and where the job goes.
 */
export type JobEvent =
  /** The storage confirmed the uploaded bytes (size and sha256 matched). */
  | { type: 'upload_confirmed' }
  /**
   * A worker takes the job. Allowed from `queued`; from `retryable` once due; from `waiting` at `parsing`
   * once the webhook wait timed out (to poll the parser); from `working` only when the lease expired.
   */
  | { type: 'claim'; due?: boolean; leaseExpired?: boolean }
  /**
   * The work of the current stage is done. The job moves to the next stage: `queued` there, or kept
   * `working` when the same worker goes straight on (`chain`), or `waiting` when the next stage waits for
   * an outside event. From `embeddings_stored` it moves to `complete`/`done`.
   */
  | { type: 'advance'; chain?: boolean }
  /** The parser reported the result (webhook or poll): the job is ready to fetch it. */
  | { type: 'parser_finished' }
  /** The worker polled the parser and it is still working: wait again. */
  | { type: 'parser_pending' }
  /** A transient failure with attempts left: retry after a delay. */
  | { type: 'fail_transient' }
  /** A permanent failure, or a transient one with no attempts left. */
  | { type: 'fail_permanent' }
  /** The worker gives the job back without finishing (shutdown): ready for another worker. */
  | { type: 'release' }
  /** An owner asks to retry a dead-lettered job. */
  | { type: 'retry' };

export type JobEventType = JobEvent['type'];
export const JOB_EVENT_TYPES: readonly JobEventType[] = [
  'upload_confirmed',
  'claim',
  'advance',
  'parser_finished',
  'parser_pending',
  'fail_transient',
  'fail_permanent',
  'release',
  'retry',
];

export interface TransitionResult {
  readonly from: JobStatus;
  readonly to: JobStatus;
  /** The row written to upload_pipeline.events with this transition. */
  readonly event: EventType;
  /** Whether the worker keeps (or takes) the lease: claimed_by / lease_expires_at stay set. */
  readonly holdsLease: boolean;
  /** Whether retry_count goes up by one (transient failure) or back to zero (manual retry). */
  readonly retryCount: 'increment' | 'reset' | 'keep';
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly eventType: JobEventType,
    reason: string,
  ) {
    super(`illegal transition: ${eventType} from ${from.stage}/${from.state}: ${reason}`);
    this.name = 'IllegalTransitionError';
  }
}

/**
 * Where a manual retry restarts a dead-lettered job. A parse that failed is submitted again; other
 * stages are idempotent and simply run again.
 */
export function retryStage(stage: Stage): Stage {
  return stage === 'parsing' ? 'parse_queued' : stage;
}

type Outcome = Omit<TransitionResult, 'from'> | string;

function decide(from: JobStatus, event: JobEvent): Outcome {
  const { stage, state } = from;
  if (state === 'done') return 'the job is complete';
  if (stage === 'complete') return 'the job is complete';
  // Before the upload is confirmed a job only ever waits (or is dead-lettered): nobody works on it.
  if (stage === 'uploaded' && state !== 'waiting' && state !== 'deadletter') return 'a job at uploaded can only wait';

  switch (event.type) {
    case 'upload_confirmed':
      if (stage !== 'uploaded' || state !== 'waiting') return 'only a job waiting for its upload can be confirmed';
      return { to: { stage: 'job_validated', state: 'queued' }, event: 'stage_done', holdsLease: false, retryCount: 'keep' };

    case 'claim': {
      if (stage === 'uploaded') return 'nothing to work on before the upload is confirmed';
      const started = { to: { stage, state: 'working' as JobState }, event: 'stage_started' as EventType, holdsLease: true, retryCount: 'keep' as const };
      if (state === 'queued') return started;
      if (state === 'retryable') return event.due ? started : 'the retry is not due yet';
      if (state === 'waiting') {
        if (stage !== 'parsing') return 'this stage waits for an outside event';
        return event.due ? started : 'the webhook wait has not timed out yet';
      }
      if (state === 'working') return event.leaseExpired ? started : 'another worker holds the lease';
      return 'a dead-lettered job needs a manual retry';
    }

    case 'advance': {
      if (state !== 'working') return 'only the worker holding the job can finish its stage';
      const next = nextStage(stage);
      if (!next) return 'no stage after complete';
      if (next === 'complete') return { to: { stage: 'complete', state: 'done' }, event: 'finalized', holdsLease: false, retryCount: 'reset' };
      if (WAITING_STAGES.includes(next)) return { to: { stage: next, state: 'waiting' }, event: 'stage_done', holdsLease: false, retryCount: 'reset' };
      return event.chain
        ? { to: { stage: next, state: 'working' }, event: 'stage_done', holdsLease: true, retryCount: 'reset' }
        : { to: { stage: next, state: 'queued' }, event: 'stage_done', holdsLease: false, retryCount: 'reset' };
    }

    case 'parser_finished':
      if (stage !== 'parsing') return 'only a job at parsing hears from the parser';
      if (state === 'waiting') return { to: { stage, state: 'queued' }, event: 'stage_done', holdsLease: false, retryCount: 'keep' };
      if (state === 'working') return { to: { stage, state: 'working' }, event: 'stage_done', holdsLease: true, retryCount: 'keep' };
      return 'the job is not waiting for the parser';

    case 'parser_pending':
      if (stage !== 'parsing' || state !== 'working') return 'only a worker polling the parser can wait again';
      return { to: { stage, state: 'waiting' }, event: 'retry', holdsLease: false, retryCount: 'keep' };

    case 'fail_transient':
      if (state !== 'working') return 'only the worker holding the job can fail it';
      return { to: { stage, state: 'retryable' }, event: 'retry', holdsLease: false, retryCount: 'increment' };

    case 'fail_permanent':
      if (state === 'deadletter') return 'already dead-lettered';
      return { to: { stage, state: 'deadletter' }, event: 'error', holdsLease: false, retryCount: 'keep' };

    case 'release':
      if (state !== 'working') return 'only a job in hand can be released';
      return { to: { stage, state: stage === 'parsing' ? 'waiting' : 'queued' }, event: 'retry', holdsLease: false, retryCount: 'keep' };

    case 'retry': {
      if (state !== 'deadletter') return 'only a dead-lettered job can be retried';
      if (stage === 'uploaded') return { to: { stage, state: 'waiting' }, event: 'retry', holdsLease: false, retryCount: 'reset' };
      return { to: { stage: retryStage(stage), state: 'queued' }, event: 'retry', holdsLease: false, retryCount: 'reset' };
    }
  }
}

/** Decides a transition; throws IllegalTransitionError when the event is not allowed from `from`. */
export function transition(from: JobStatus, event: JobEvent): TransitionResult {
  const outcome = decide(from, event);
  if (typeof outcome === 'string') throw new IllegalTransitionError(from, event.type, outcome);
  return { from, ...outcome };
}

/** Like `transition` but returns null instead of throwing. */
export function tryTransition(from: JobStatus, event: JobEvent): TransitionResult | null {
  const outcome = decide(from, event);
  return typeof outcome === 'string' ? null : { from, ...outcome };
}

export function canTransition(from: JobStatus, event: JobEvent): boolean {
  return typeof decide(from, event) !== 'string';
}
