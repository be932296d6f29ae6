import { Injectable } from '@nestjs/common';
import { EmbeddingModelsService } from '@app/embeddings';
import type { JobContext, StageHandler, StageResult } from '../job-context';

/**
 * embeddings_stored -> complete, in ONE statement with the final transition: when every buffered chunk has a vector
 * of a registered model, it moves the buffered chunks and their vectors (one row per registered model) into
 * document_chunks, empties both buffers, sets the document's chunk_count and completes the job; otherwise it
 * changes nothing and the stage fails (transient) saying how many chunks are missing. Embedding's last batch, when
 * this claim embedded, comes from the scratch (it is not in the buffer) and moves with the buffered vectors.
 */
@Injectable()
export class FinalizeHandler implements StageHandler {
  readonly stages = ['embeddings_stored'] as const;

  constructor(private readonly models: EmbeddingModelsService) {}

  async run({ document, scratch }: JobContext): Promise<StageResult> {
    const { storage } = await this.models.vectorColumn();
    // the job store requires every buffered chunk to have a vector of a registered model (in the buffer, or among
    // the last batch embedding handed over in this claim), and fails the stage (transient, vectors_missing) with the
    // number missing otherwise; a later claim has no such batch: the buffer only
    const { vectors } = scratch;
    return {
      type: 'advance',
      write: { kind: 'finalize', documentId: document.documentId, userId: document.userId, vectorStorage: storage, vectors },
    };
  }
}
