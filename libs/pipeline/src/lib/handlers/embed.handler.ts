import { Injectable } from '@nestjs/common';
import { EmbeddingModel, EmbeddingModelsService } from '@app/embeddings';
import { BufferedChunkRow, JobStore, VectorBatch } from '@app/jobs';
import type { BufferedChunk, JobContext, StageHandler, StageResult } from '../job-context';
import { writePendingChunks } from './pending-chunks';

/**
 * embedding_in_progress: embeds the buffered chunks that have no vector yet, for the active embedding model
 * and, while a re-embedding runs, for the model being built too (so a new document needs no catching up), in
 * micro-batches within the provider's limits (inputs and tokens a request; the embedder's token-rate budget
 * paces them), writing each batch's vectors as it comes back. A re-run after a crash embeds only what is
 * missing. The last batch is not written here: finalize's statement writes it (`ClaimScratch.vectors`).
 */
@Injectable()
export class EmbedHandler implements StageHandler {
  readonly stages = ['embedding_in_progress'] as const;
  /** A re-run embeds only the chunks that have no vector yet (none, when the vectors were written). */
  readonly commitsWithNext = true;

  constructor(
    private readonly store: JobStore,
    private readonly models: EmbeddingModelsService,
  ) {}

  async run({ job, document, signal, workerId, scratch }: JobContext): Promise<StageResult> {
    scratch.vectors = undefined;
    const { active, building } = await this.models.inUse();
    const targets = building ? [active, building] : [active];
    // every buffered chunk, in order, marked when it already has the target's vector (a re-run after a crash embeds
    // only the rest): one round trip a target gives the total and the work, read before any embedding so that the
    // last batch of all is known
    // (this claim's chunking handed them over when it wrote every one into an empty buffer: none is done)
    const work: { target: EmbeddingModel; chunks: BufferedChunkRow[] }[] = [];
    for (const target of targets) {
      const chunks = scratch.chunks?.map((c) => ({ ...c, done: false })) ?? (await this.store.bufferedChunks(document.documentId, target.model, target.version));
      work.push({ target, chunks });
    }
    scratch.chunks = undefined;
    const lastTarget = work.findLastIndex((w) => w.chunks.some((c) => !c.done));
    let total = 0;
    let embedded = 0;
    let embeddedNow = 0;
    let tokensUsed = 0;
    let requests = 0;
    for (const [t, { target, chunks }] of work.entries()) {
      total = chunks.length;
      const pending: BufferedChunk[] = chunks.filter((c) => !c.done);
      embedded += total - pending.length;
      for await (const { batch, result: res, last } of this.models.embedBatches(target, pending, signal)) {
        const vectors: VectorBatch = {
          jobId: job.jobId,
          workerId,
          documentId: document.documentId,
          model: target.model,
          version: target.version,
          chunkIds: batch.map((c) => c.id),
          vectors: res.vectors,
          chunksEmbedded: embedded + batch.length,
          chunksTotal: total * targets.length,
        };
        // The last batch of all goes in finalize's statement (one commit instead of two): it commits this stage's
        // transition, so these vectors still commit in the statement after their return, and a crash before it
        // re-embeds only them.
        if (last && t === lastTarget) scratch.vectors = vectors;
        else {
          // (chunks this claim's chunking handed over go into the buffer first: a buffered vector references its row)
          await writePendingChunks(this.store, { job, workerId, document, scratch });
          await this.store.bufferVectors(vectors);
        }
        embedded += batch.length;
        embeddedNow += batch.length;
        tokensUsed += res.promptTokens;
        requests++;
      }
    }
    return {
      type: 'advance',
      progress: { chunks_embedded: embedded, chunks_total: total * targets.length },
      detail: { batches: requests, embedded: embeddedNow, tokens: tokensUsed, models: targets.map((t) => `${t.model}:${t.version}`) },
    };
  }

  /**
   * The last batch, when this stage's transition is committed without finalize's statement (finalize failed, the
   * worker stops): into the buffer first. The job then waits at embeddings_stored, where a retry only finalizes (it
   * never re-embeds): without the batch it would fail with vectors_missing until dead-lettered. Written, it keeps
   * today's behaviour (a failed finalize is retried as such) and costs no embedding again.
   */
  async writeHandedOver(ctx: JobContext): Promise<void> {
    const { scratch } = ctx;
    const vectors = scratch.vectors;
    if (!vectors) return;
    await writePendingChunks(this.store, ctx);
    await this.store.bufferVectors(vectors);
    scratch.vectors = undefined;
  }
}
