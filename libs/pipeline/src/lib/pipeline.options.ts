import type { RetryPolicy } from '@app/state-machine';

export interface PipelineOptions {
  /** Unique per process: written to claimed_by. */
  workerId: string;
  /** Jobs worked on at the same time by this process. */
  concurrency: number;
  /**
   * Jobs claimed ahead while every slot is busy, started the moment a slot frees (0: claim only for free slots).
   * Their leases are held and renewed while they wait.
   */
  prefetch: number;
  /** Most jobs taken by one claim query. */
  claimBatch: number;
  leaseMs: number;
  /** How often leases of jobs in hand are renewed (well under leaseMs). */
  leaseRenewMs: number;
  /** Polling fallback when no NOTIFY arrives (also finds due retries and expired leases). */
  pollIntervalMs: number;
  /** Base URL the parser calls back: `${webhookBaseUrl}/webhooks/llamaparse/:jobId`. */
  webhookBaseUrl: string;
  /** How long to wait for the parser's webhook before polling its job status. */
  webhookTimeoutMs: number;
  /** Between two polls of a parser job that is still PENDING. */
  parserPollIntervalMs: number;
  retryPolicy: RetryPolicy;
  chunker: { maxTokens: number; overlapTokens: number; name: string; version: number };
  /**
   * Time budget of one document's chunking (running in a worker thread; queueing for a thread not counted). Past it
   * the thread is terminated and the job dead-lettered as `too_complex`.
   */
  chunkTimeoutMs: number;
  /** Old-generation heap of a chunking thread (piscina `resourceLimits`); past it: dead-lettered as `too_large`. */
  chunkMaxMemoryMb: number;
  /** Chunking worker threads at most (default: all cores but one, at most `concurrency`). */
  chunkThreads?: number;
  /**
   * Parsed markdown up to this many bytes is chunked on the worker's own thread (default 64 KiB): the chunker is
   * O(n log n), so a small document takes milliseconds, and it pays no thread start or copy; larger ones go to the
   * pool with their budgets. 0: every document goes to the pool.
   */
  chunkInlineMaxBytes?: number;
  /** Largest raw document the worker reads into memory for the parser. */
  maxDocumentBytes: number;
  /** On SIGTERM: how long jobs in hand may run on before they are released. */
  shutdownGraceMs: number;
}

export const PIPELINE_OPTIONS = Symbol('PIPELINE_OPTIONS');
