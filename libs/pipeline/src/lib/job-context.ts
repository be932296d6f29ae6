import type { EntityManager } from 'typeorm';
import type { DocumentEntity, JobProgress, UploadJobEntity } from '@app/database';
import type { Stage } from '@app/state-machine';

/** What a stage handler gets: the job and its document as they are now, and a signal to stop. */
export interface JobContext {
  readonly job: UploadJobEntity;
  readonly document: DocumentEntity;
  readonly workerId: string;
  /** Aborted on shutdown or when the lease was lost. */
  readonly signal: AbortSignal;
}

/** The stage's work is done: the runner moves the job on, running `commit` in the same transaction. */
export interface AdvanceResult {
  readonly type: 'advance';
  readonly progress?: JobProgress;
  readonly parserJobId?: string;
  /** For a stage that leads to waiting: when to stop waiting and poll. */
  readonly nextAttemptAt?: Date;
  readonly detail?: Record<string, unknown>;
  /** Writes that must land atomically with the transition (e.g. documents.parsed_path). */
  readonly commit?: (m: EntityManager) => Promise<void>;
}

/** The parser is still working: wait again until `nextAttemptAt`. */
export interface ParserPendingResult {
  readonly type: 'parser_pending';
  readonly nextAttemptAt: Date;
}

export type StageResult = AdvanceResult | ParserPendingResult;

/** One per stage: thin, idempotent (a re-run after a crash changes nothing twice), delegates the work. */
export interface StageHandler {
  readonly stages: readonly Stage[];
  run(ctx: JobContext): Promise<StageResult>;
}

export const STAGE_HANDLERS = Symbol('STAGE_HANDLERS');
