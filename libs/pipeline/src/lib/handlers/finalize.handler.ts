import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransientError } from '@app/circuit-breaker';
import { EmbeddingModelsService } from '@app/embeddings';
import { prepared, runPrepared } from '@app/database';
import type { JobContext, StageHandler, StageResult } from '../job-context';

/**
 * embeddings_stored -> complete: in ONE transaction (the runner's, with the final transition), move
 * the buffered chunks and their vectors (one row per registered model) into document_chunks and delete the buffers.
 */
@Injectable()
export class FinalizeHandler implements StageHandler {
  readonly stages = ['embeddings_stored'] as const;

  constructor(private readonly models: EmbeddingModelsService) {}

  async run({ document }: JobContext): Promise<StageResult> {
    const cast = await this.models.vectorCast();
    return {
      type: 'advance',
      commit: async (m: EntityManager) => {
        // Vectors of registered models only: a build cancelled meanwhile leaves vectors nobody wants.
        const [{ missing }] = (await runPrepared(m, prepared(`SELECT count(*)::int AS missing FROM upload_pipeline.document_chunk_buffer b
           WHERE b.document_id = $1 AND NOT EXISTS (
             SELECT 1 FROM upload_pipeline.document_vector_buffer v
             JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
             WHERE v.chunk_id = b.chunk_id)`),
          [document.documentId],
        )) as { missing: number }[];
        if (missing > 0) throw new TransientError(`${missing} chunks have no vector yet`, { code: 'vectors_missing' });
        // One row per chunk and model (two while a re-embedding runs).
        await runPrepared(m, prepared(`INSERT INTO upload_pipeline.document_chunks
             (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count,
              embed_model, embed_version, embedding, meta)
           SELECT b.chunk_id, b.document_id, $2, b.chunker, b.chunker_version, b.ord, b.text, b.chunk_sha, b.token_count,
                  v.embed_model, v.embed_version, v.embedding${cast}, b.meta
           FROM upload_pipeline.document_chunk_buffer b
           JOIN upload_pipeline.document_vector_buffer v ON v.chunk_id = b.chunk_id
           JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
           WHERE b.document_id = $1
           ON CONFLICT DO NOTHING`),
          [document.documentId, document.userId],
        );
        await runPrepared(m, prepared(`DELETE FROM upload_pipeline.document_vector_buffer WHERE document_id = $1`), [document.documentId]);
        await runPrepared(m, prepared(`DELETE FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1`), [document.documentId]);
        await runPrepared(m, prepared(`UPDATE upload_pipeline.documents SET chunk_count =
             (SELECT count(DISTINCT chunk_id) FROM upload_pipeline.document_chunks WHERE document_id = $1), updated_at = now()
           WHERE document_id = $1`),
          [document.documentId],
        );
      },
    };
  }
}
