import { Injectable } from '@nestjs/common';
import { EmbeddingModelsService } from '@app/embeddings';
import { JobStore } from '@app/jobs';
import type { BufferedChunk, JobContext, StageHandler, StageResult } from '../job-context';

/**
 * embedding_in_progress: embeds the buffered chunks that have no vector yet, for the active embedding model
 * and, while a re-embedding runs, for the model being built too (so a new document needs no catching up), in
 * micro-batches within the provider's limits (inputs and tokens a request; the embedder's token-rate budget
 * paces them), writing each batch's vectors as it comes back. A re-run after a crash embeds only what is
 * missing.
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
    const { active, building } = await this.models.inUse();
    const targets = building ? [active, building] : [active];
    let total = 0;
    let embedded = 0;
    let embeddedNow = 0;
    let tokensUsed = 0;
    let requests = 0;
    for (const target of targets) {
      // every buffered chunk, in order, marked when it already has this model's vector (a re-run after a
      // crash embeds only the rest): one round trip gives the total and the work
      // (this claim's chunking handed them over when it wrote every one into an empty buffer: none is done)
      const chunks = scratch.chunks?.map((c) => ({ ...c, done: false })) ?? (await this.store.bufferedChunks(document.documentId, target.model, target.version));
      total = chunks.length;
      const pending: BufferedChunk[] = chunks.filter((c) => !c.done);
      embedded += total - pending.length;
      for await (const { batch, result: res } of this.models.embedBatches(target, pending, signal)) {
        await this.store.bufferVectors({
          jobId: job.jobId,
          workerId,
          documentId: document.documentId,
          model: target.model,
          version: target.version,
          chunkIds: batch.map((c) => c.id),
          vectors: res.vectors,
          chunksEmbedded: embedded + batch.length,
          chunksTotal: total * targets.length,
        });
        embedded += batch.length;
        embeddedNow += batch.length;
        tokensUsed += res.promptTokens;
        requests++;
      }
    }
    scratch.chunks = undefined;
    return {
      type: 'advance',
      progress: { chunks_embedded: embedded, chunks_total: total * targets.length },
      detail: { batches: requests, embedded: embeddedNow, tokens: tokensUsed, models: targets.map((t) => `${t.model}:${t.version}`) },
    };
  }
}
