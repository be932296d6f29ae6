import type { ModelRef } from './embedding-model';

export const EMBEDDINGS_OPTIONS = Symbol('EMBEDDINGS_OPTIONS');

export interface ReembedLoopOptions {
  /** Run the re-embedding loop in this process (workers: yes; the api: no). */
  enabled: boolean;
  /** Chunks embedded per batch (one transaction, one or more provider requests). */
  batchSize?: number;
  /** Pause between rounds when there is nothing to do. */
  idleMs?: number;
  /** Retired rows deleted per statement once a switch is done. */
  deleteBatch?: number;
}

export interface EmbeddingsOptions {
  /** EMBEDDING_MODEL / EMBEDDING_VERSION / EMBEDDING_DIMENSIONS: the active model of a new database. */
  configured: ModelRef & { dimensions: number };
  loop?: ReembedLoopOptions;
  /**
   * How long `inUse()` may answer from memory (default 0: always read). The workers cache it for a second:
   * the pipeline reads it for every document, and the re-embedding loop repairs what a stale answer misses
   * (a document finalized without the model being built, or with a model just retired).
   */
  inUseCacheMs?: number;
}
