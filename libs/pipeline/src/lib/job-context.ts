import type { DocumentEntity, JobProgress, UploadJobEntity } from '@app/database';
import type { ChunkRow, DocumentWrites, StageWrite, StageWriteReport, VectorBatch } from '@app/jobs';
import type { Stage } from '@app/state-machine';

/**
 * What one stage hands to the next within one claim, to save reading it back (never persisted: a new claim
 * starts empty, so every handler must also work without it).
 */
export interface ClaimScratch {
  /** The uploaded bytes, as stored at `documents.raw_path` and checked against the declared size and sha256 (small uploads). */
  raw?: Buffer;
  /** The parsed markdown, as stored at `documents.parsed_path`. */
  markdown?: string;
  /** The status the parser's signed webhook reported for the job's current parse, as read by the claim. */
  parserReportedStatus?: string;
  /**
   * This claim took the job over from a worker whose lease ran out: an earlier attempt may have left chunks and
   * vectors in the buffers, which embedding must find there (so that no batch is embedded twice).
   */
  takenOver?: boolean;
  /**
   * The document's chunks, made by this claim's chunking and not written anywhere yet (chunking's transition waits
   * for finalize's statement, which stores them straight into document_chunks with their vectors). Whatever commits
   * chunking's transition otherwise writes them into the chunk buffer first (`writeHandedOver`): embedding before
   * it buffers a batch's vectors, the runner before a failure, a release or a statement of another stage.
   */
  pendingChunks?: readonly ChunkRow[];
  /**
   * The document's chunks, in order, none with a vector yet, when this claim's chunking made them (`pendingChunks`) or
   * its statement wrote every one of them into a buffer that held none before: embedding need not read them back.
   */
  chunks?: readonly BufferedChunk[];
  /**
   * Embedding's last batch of vectors, not written into the vector buffer: finalize's statement, which commits
   * embedding's transition, writes them (so they still commit with the statement that follows their return). Until
   * then only this claim has them: if embedding's transition is to be committed without that statement, the runner
   * has the embed handler write them first (`writeHandedOver`).
   */
  vectors?: VectorBatch;
}

/** A chunk in the buffer, as embedding needs it. */
export interface BufferedChunk {
  readonly id: string;
  readonly text: string;
  readonly tokens: number;
}

/** What a stage handler gets: the job and its document as they are now, and a signal to stop. */
export interface JobContext {
  readonly job: UploadJobEntity;
  readonly document: DocumentEntity;
  readonly workerId: string;
  /** Aborted on shutdown or when the lease was lost. */
  readonly signal: AbortSignal;
  readonly scratch: ClaimScratch;
}

/** The stage's work is done: the runner moves the job on, with `document` and `writes` in the transition's statement. */
export interface AdvanceResult {
  readonly type: 'advance';
  readonly progress?: JobProgress;
  readonly parserJobId?: string;
  /** For a stage that leads to waiting: when to stop waiting and poll. */
  readonly nextAttemptAt?: Date;
  readonly detail?: Record<string, unknown>;
  /** Document columns written in the transition's own statement (atomically with it, no transaction needed). */
  readonly document?: DocumentWrites;
  /**
   * A write that must land atomically with the transition (the job store puts it in the transition's own statement,
   * conditional on it applying: one round trip).
   */
  readonly write?: StageWrite;
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
  /**
   * The stages only hand over (no work, no writes): the runner applies their transition in the same statement
   * as the one that reached them.
   */
  readonly passThrough?: boolean;
  /**
   * Its transition may wait and be committed in the statement of the next stage's, when this worker goes straight
   * on to that stage (one commit instead of two). Only for a stage whose writes are its document columns and
   * idempotent writes of its own, and whose re-run is cheap: after a crash before that commit, the job comes back
   * at this stage and does it again.
   */
  readonly commitsWithNext?: boolean;
  run(ctx: JobContext): Promise<StageResult>;
  /**
   * For a `commitsWithNext` stage that leaves writes in the scratch for the next stage's statement: writes them on
   * their own. The runner calls it before this stage's transition is committed in any other statement (on its own,
   * or with the next stage's failure or release); if it throws, that transition is not committed.
   */
  writeHandedOver?(ctx: JobContext): Promise<void>;
  /**
   * Its write takes what the deferred stages before it handed over (finalize: the pending chunks and the last
   * vectors). Before any other stage's statement commits deferred transitions, the runner writes their hand-overs.
   */
  readonly takesHandOvers?: boolean;
  /** Called once the stage's transition with its `write` committed, with what the store reported of the write. */
  committed?(ctx: JobContext, result: AdvanceResult, report: StageWriteReport): void;
}

export const STAGE_HANDLERS = Symbol('STAGE_HANDLERS');
