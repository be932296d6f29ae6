import type { JobStore } from '@app/jobs';
import type { JobContext } from '../job-context';

/**
 * The chunks this claim's chunking handed over (`ClaimScratch.pendingChunks`), written into the chunk buffer
 * (ON CONFLICT DO NOTHING) and no longer pending: before a batch's vectors are buffered (they reference their chunk's
 * buffer row), or before chunking's transition is committed by any statement but finalize's.
 */
export async function writePendingChunks(
  store: JobStore,
  { job, workerId, document, scratch }: Pick<JobContext, 'job' | 'workerId' | 'document' | 'scratch'>,
): Promise<void> {
  const rows = scratch.pendingChunks;
  if (!rows) return;
  // (only while the job is this worker's: after a lost lease, or a finalize that committed unseen, nothing)
  await store.bufferChunks({ jobId: job.jobId, workerId }, document.documentId, rows);
  scratch.pendingChunks = undefined;
}
