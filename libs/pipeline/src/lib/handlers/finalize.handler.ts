import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransientError } from '@app/circuit-breaker';
import { EmbeddingModelsService } from '@app/embeddings';
import { prepared, runPrepared } from '@app/database';
import type { JobContext, StageHandler, StageResult } from '../job-context';

/**
 * embeddings_stored -> complete: in ONE transaction (the runner's, with the final transition), one statement
 * moves the buffered chunks and their vectors (one row per registered model) into document_chunks and deletes the buffers.
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
        // One statement (it was five): when every buffered chunk has a vector of a registered model (a build
        // cancelled meanwhile leaves vectors nobody wants), move chunks and vectors into document_chunks (one row
        // per chunk and model, two while a re-embedding runs), empty both buffers and set the document's
        // chunk_count; otherwise change nothing and say how many are missing. All sub-statements read one
        // snapshot: the INSERT reads the buffer rows the DELETEs remove, and chunk_count is what was already
        // stored plus what the INSERT added.
        const [{ missing }] = await runPrepared<{ missing: number }>(
          m,
          prepared(
            `WITH m AS (
               SELECT count(*)::int AS missing FROM upload_pipeline.document_chunk_buffer b
               WHERE b.document_id = $1 AND NOT EXISTS (
                 SELECT 1 FROM upload_pipeline.document_vector_buffer v
                 JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
                 WHERE v.chunk_id = b.chunk_id)
             ), ins AS (
               INSERT INTO upload_pipeline.document_chunks
                 (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count,
                  embed_model, embed_version, embedding, meta)
               SELECT b.chunk_id, b.document_id, $2, b.chunker, b.chunker_version, b.ord, b.text, b.chunk_sha, b.token_count,
                      v.embed_model, v.embed_version, v.embedding${cast}, b.meta
               FROM upload_pipeline.document_chunk_buffer b
               JOIN upload_pipeline.document_vector_buffer v ON v.chunk_id = b.chunk_id
               JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
               WHERE b.document_id = $1 AND (SELECT missing FROM m) = 0
               ON CONFLICT DO NOTHING
               RETURNING chunk_id
             ), vectors AS (
               DELETE FROM upload_pipeline.document_vector_buffer WHERE document_id = $1 AND (SELECT missing FROM m) = 0
             ), chunks AS (
               DELETE FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1 AND (SELECT missing FROM m) = 0
             ), doc AS (
               UPDATE upload_pipeline.documents SET updated_at = now(), chunk_count = (
                 SELECT count(*) FROM (
                   SELECT chunk_id FROM upload_pipeline.document_chunks WHERE document_id = $1 UNION SELECT chunk_id FROM ins
                 ) stored)
               WHERE document_id = $1 AND (SELECT missing FROM m) = 0
             )
             SELECT missing FROM m`,
          ),
          [document.documentId, document.userId],
        );
        if (missing > 0) throw new TransientError(`${missing} chunks have no vector yet`, { code: 'vectors_missing' });
      },
    };
  }
}
