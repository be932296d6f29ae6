import { Injectable } from '@nestjs/common';
import { TransientError } from '@app/errors';
import { EmbeddingModelsService } from '@app/embeddings';
import type { JobContext, StageHandler, StageResult } from '../job-context';

/**
 * embeddings_stored -> complete, in ONE statement with the final transition: when every buffered chunk has a vector
 * of a registered model, it moves the buffered chunks and their vectors (one row per registered model) into
 * document_chunks, empties both buffers, sets the document's chunk_count and completes the job; otherwise it
 * changes nothing and the stage fails (transient) saying how many chunks are missing.
 */
@Injectable()
export class FinalizeHandler implements StageHandler {
  readonly stages = ['embeddings_stored'] as const;

  constructor(private readonly models: EmbeddingModelsService) {}

  async run({ document }: JobContext): Promise<StageResult> {
    const cast = await this.models.vectorCast();
    const { documentId, userId } = document;
    return {
      type: 'advance',
      // One statement (it was a transaction of four round trips, and before that five statements). `missing` is read
      // first; the job's compare-and-set requires it to be 0, and the moves run only when the job's update did (a
      // buffered chunk whose vector belongs to a model no longer registered, e.g. of a cancelled build, counts as
      // missing). All parts read one snapshot: the INSERT reads the buffer rows the DELETEs remove, and chunk_count
      // is what was already stored plus what the INSERT added.
      writes: {
        // each part binds its own parameters
        before: (p) => `m AS (
            SELECT count(*)::int AS missing FROM upload_pipeline.document_chunk_buffer b
            WHERE b.document_id = ${p(documentId)}::uuid AND NOT EXISTS (
              SELECT 1 FROM upload_pipeline.document_vector_buffer v
              JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
              WHERE v.chunk_id = b.chunk_id)
          )`,
        requires: `(SELECT missing FROM m) = 0`,
        after: (p) => {
          const doc = p(documentId);
          return `ins AS (
            INSERT INTO upload_pipeline.document_chunks
              (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count,
               embed_model, embed_version, embedding, meta)
            SELECT b.chunk_id, b.document_id, ${p(userId)}::uuid, b.chunker, b.chunker_version, b.ord, b.text, b.chunk_sha,
                   b.token_count, v.embed_model, v.embed_version, v.embedding${cast}, b.meta
            FROM upload_pipeline.document_chunk_buffer b
            JOIN upload_pipeline.document_vector_buffer v ON v.chunk_id = b.chunk_id
            JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
            WHERE b.document_id = ${doc}::uuid AND EXISTS (SELECT 1 FROM upd)
            ON CONFLICT DO NOTHING
            RETURNING chunk_id
          ), vectors AS (
            DELETE FROM upload_pipeline.document_vector_buffer WHERE document_id = ${doc}::uuid AND EXISTS (SELECT 1 FROM upd)
          ), chunks AS (
            DELETE FROM upload_pipeline.document_chunk_buffer WHERE document_id = ${doc}::uuid AND EXISTS (SELECT 1 FROM upd)
          )`;
        },
        documentSets: (p) => ({
          chunk_count: `(SELECT count(*) FROM (
              SELECT chunk_id FROM upload_pipeline.document_chunks WHERE document_id = ${p(documentId)}::uuid UNION SELECT chunk_id FROM ins
            ) stored)`,
        }),
        report: `(SELECT missing FROM m)`,
        onReport: (missing) => {
          // (any non-zero count, however the driver hands it over: a refusal must fail the stage, not look like a lost lease)
          if (Number(missing) > 0) throw new TransientError(`${Number(missing)} chunks have no vector yet`, { code: 'vectors_missing' });
        },
      },
    };
  }
}
