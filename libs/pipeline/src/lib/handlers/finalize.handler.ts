import { Injectable } from '@nestjs/common';
import { EmbeddingModelsService } from '@app/embeddings';
import { ChunkRow, JobStore } from '@app/jobs';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { writePendingChunks } from './pending-chunks';

/**
 * embeddings_stored -> complete, in ONE statement with the final transition: when every buffered chunk has a vector
 * of a registered model, it moves the buffered chunks and their vectors (one row per registered model) into
 * document_chunks, empties both buffers, sets the document's chunk_count and completes the job; otherwise it
 * changes nothing and the stage fails (transient) saying how many chunks are missing. Embedding's last batch, when
 * this claim embedded, comes from the scratch (it is not in the buffer) and moves with the buffered vectors; the chunks
 * of this claim's chunking, when it handed them over, go straight into document_chunks with them (no buffer at all).
 */
@Injectable()
export class FinalizeHandler implements StageHandler {
  readonly stages = ['embeddings_stored'] as const;
  /** Its statement writes the chunks chunking handed over and the last vectors embedding did. */
  readonly takesHandOvers = true;

  constructor(
    private readonly models: EmbeddingModelsService,
    private readonly store: JobStore,
  ) {}

  async run(ctx: JobContext): Promise<StageResult> {
    const { document, scratch } = ctx;
    const { storage } = await this.models.vectorColumn();
    // the job store requires every buffered chunk to have a vector of a registered model (in the buffer, or among
    // the last batch embedding handed over in this claim), and fails the stage (transient, vectors_missing) with the
    // number missing otherwise; a later claim has no such batch: the buffer only
    const { vectors, pendingChunks } = scratch;
    // chunks handed over by this claim's chunking go in with their vectors (embedding then made one batch of them all,
    // for one model: it buffers the chunks before any batch it buffers); without a vector for each, through the buffer
    const inHand = pendingChunks && vectors && coversAll(vectors.chunkIds, pendingChunks) ? pendingChunks : undefined;
    if (pendingChunks && !inHand) await writePendingChunks(this.store, ctx);
    return {
      type: 'advance',
      write: {
        kind: 'finalize',
        documentId: document.documentId,
        userId: document.userId,
        vectorStorage: storage,
        vectors,
        ...(inHand ? { chunks: inHand } : {}),
      },
    };
  }
}

/** Every chunk has a vector among `ids`. */
function coversAll(ids: readonly string[], chunks: readonly ChunkRow[]): boolean {
  const have = new Set(ids);
  return chunks.every((c) => have.has(c.chunkId));
}
