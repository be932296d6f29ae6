import { randomBytes, randomUUID } from 'node:crypto';
import type { JobTransitionsService, UploadsService } from '@app/jobs';
import { DEFAULT_RETRY_POLICY } from '@app/state-machine';
import type { PipelineOptions } from './pipeline.options';

/** Pipeline options for the lib's tests (not exported from the lib). */
export const testPipelineOptions = (workerId: string, leaseMs = 30_000, overrides: Partial<PipelineOptions> = {}): PipelineOptions => ({
  workerId,
  concurrency: 4,
  prefetch: 0,
  claimBatch: 4,
  leaseMs,
  leaseRenewMs: 1_000,
  pollIntervalMs: 1_000,
  webhookBaseUrl: 'http://127.0.0.1:1',
  webhookTimeoutMs: 1_000,
  parserPollIntervalMs: 1_000,
  retryPolicy: DEFAULT_RETRY_POLICY,
  chunker: { name: 'md-token', version: 1, maxTokens: 512, overlapTokens: 0 },
  chunkTimeoutMs: 30_000,
  chunkMaxMemoryMb: 256,
  chunkThreads: 1,
  // the lib's tests chunk in the pool's threads, whatever the size
  chunkInlineMaxBytes: 0,
  maxDocumentBytes: 1_000_000,
  shutdownGraceMs: 1_000,
  ...overrides,
});

/** A new upload whose bytes were confirmed: its job is at job_validated/queued. Returns the job id. */
export async function newQueuedJob(uploads: UploadsService, transitions: JobTransitionsService): Promise<string> {
  const r = await uploads.createOrGet({
    userId: randomUUID(),
    filename: 'a.md',
    mime: 'text/markdown',
    bytesLen: 10,
    sha256: randomBytes(32).toString('hex'),
    ocr: false,
    correlationId: randomUUID(),
    embedModel: 'text-embedding-3-small',
    embedVersion: 1,
    uploadExpiresAt: new Date(Date.now() + 60_000),
    rawKey: (u, d) => `users/${u}/documents/${d}/raw`,
  });
  await transitions.apply(r.job.jobId, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' });
  return r.job.jobId;
}
