/** Pipeline stages, in order. A job's `stage` says where in the pipeline it is. */
export const STAGES = [
  'uploaded',
  'job_validated',
  'parse_queued',
  'parsing',
  'parsed',
  'parse_validated',
  'chunking',
  'chunks_stored',
  'embedding_queued',
  'embedding_in_progress',
  'embeddings_stored',
  'complete',
] as const;
export type Stage = (typeof STAGES)[number];

/** What is happening at the stage. */
export const JOB_STATES = ['queued', 'working', 'waiting', 'retryable', 'done', 'deadletter'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Event types written to upload_pipeline.events with every transition. */
export const EVENT_TYPES = ['stage_started', 'stage_done', 'retry', 'error', 'finalized'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface JobStatus {
  readonly stage: Stage;
  readonly state: JobState;
}

export function isStage(v: unknown): v is Stage {
  return typeof v === 'string' && (STAGES as readonly string[]).includes(v);
}

export function isJobState(v: unknown): v is JobState {
  return typeof v === 'string' && (JOB_STATES as readonly string[]).includes(v);
}

export function stageIndex(stage: Stage): number {
  return STAGES.indexOf(stage);
}

/** The stage after `stage`, or null for `complete`. */
export function nextStage(stage: Stage): Stage | null {
  const i = stageIndex(stage);
  return i < STAGES.length - 1 ? STAGES[i + 1] : null;
}

/** True when `a` is strictly before `b` in the pipeline. */
export function isBefore(a: Stage, b: Stage): boolean {
  return stageIndex(a) < stageIndex(b);
}

/**
 * Stages where the job waits for something outside the worker when it gets there:
 * `uploaded` waits for the bytes (the api confirms the PUT), `parsing` waits for the parser's webhook
 * (or, after a timeout, a worker polls the parser).
 */
export const WAITING_STAGES: readonly Stage[] = ['uploaded', 'parsing'];

/** Stages a worker claims and works on (every stage but the terminal one and `uploaded`). */
export const WORK_STAGES: readonly Stage[] = STAGES.filter((s) => s !== 'complete' && s !== 'uploaded');

/**
 * Progress weights: the share of the whole pipeline done when a job *enters* each stage, in percent.
 * Parsing and embedding are the long stages, so they carry most of the weight.
 */
export const STAGE_PROGRESS: Readonly<Record<Stage, number>> = {
  uploaded: 0,
  job_validated: 5,
  parse_queued: 8,
  parsing: 10,
  parsed: 40,
  parse_validated: 43,
  chunking: 45,
  chunks_stored: 55,
  embedding_queued: 58,
  embedding_in_progress: 60,
  embeddings_stored: 95,
  complete: 100,
};

/**
 * Overall progress in percent (0..100, integer) for a job at `stage`, `fraction` (0..1) of the way
 * through that stage's own work (e.g. embedded chunks / all chunks).
 */
export function progressPercent(stage: Stage, fraction = 0): number {
  const here = STAGE_PROGRESS[stage];
  const next = nextStage(stage);
  if (!next) return 100;
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  return Math.floor(here + (STAGE_PROGRESS[next] - here) * f);
}
