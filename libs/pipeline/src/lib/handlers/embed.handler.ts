import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PermanentError } from '@app/circuit-breaker';
import { EMBEDDER, Embedder, planBatches } from '@app/embedder-client';
import { MetricsService } from '@app/observability';
import type { JobContext, StageHandler, StageResult } from '../job-context';

interface PendingChunk {
  id: string;
  text: string;
  tokens: number;
}

/**
 * embedding_in_progress: embeds the buffered chunks that have no vector yet for this job's model and
 * version, in micro-batches within the provider's limits (inputs and tokens a request; the embedder's
 * token-rate budget paces them), writing each batch's vectors as it comes back. A re-run after a crash
 * embeds only what is missing.
 */
@Injectable()
export class EmbedHandler implements StageHandler {
  readonly stages = ['embedding_in_progress'] as const;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    private readonly metrics: MetricsService,
  ) {}

  async run({ job, document, signal, workerId }: JobContext): Promise<StageResult> {
    if (job.embedModel !== this.embedder.model) {
      throw new PermanentError(`job wants embedding model ${job.embedModel}, this worker serves ${this.embedder.model}`, {
        code: 'model_mismatch',
      });
    }
    const [{ total }] = (await this.ds.query(
      `SELECT count(*)::int AS total FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1`,
      [document.documentId],
    )) as { total: number }[];
    const pending = (await this.ds.query(
      `SELECT b.chunk_id AS id, b.text, b.token_count AS tokens
       FROM upload_pipeline.document_chunk_buffer b
       WHERE b.document_id = $1 AND NOT EXISTS (
         SELECT 1 FROM upload_pipeline.document_vector_buffer v
         WHERE v.chunk_id = b.chunk_id AND v.embed_model = $2 AND v.embed_version = $3)
       ORDER BY b.ord`,
      [document.documentId, job.embedModel, job.embedVersion],
    )) as PendingChunk[];

    let embedded = total - pending.length;
    let tokensUsed = 0;
    const batches = planBatches(pending, {
      maxInputs: this.embedder.maxInputs,
      maxTokensPerRequest: this.embedder.maxTokensPerRequest,
      maxTokensPerInput: this.embedder.maxInputTokens,
    });
    for (const batch of batches) {
      signal.throwIfAborted();
      const tokens = batch.reduce((n, c) => n + c.tokens, 0);
      let res;
      try {
        res = await this.embedder.embed(
          batch.map((c) => c.text),
          { signal, tokens },
        );
        this.metrics.embeddingRequest(job.embedModel, 'ok');
        this.metrics.embeddingTokensUsed(job.embedModel, res.promptTokens);
      } catch (e) {
        this.metrics.embeddingRequest(job.embedModel, 'error');
        throw e;
      }
      await this.ds.query(
        `WITH ins AS (
           INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
           SELECT id, $2, $3, $4, string_to_array(vec, ',')::real[]
           FROM unnest($1::uuid[], $5::text[]) AS t(id, vec)
           ON CONFLICT DO NOTHING
         )
         UPDATE upload_pipeline.upload_jobs
         SET progress = progress || jsonb_build_object('chunks_embedded', $6::int, 'chunks_total', $7::int), updated_at = now()
         WHERE job_id = $8 AND claimed_by = $9`,
        [
          batch.map((c) => c.id),
          job.embedModel,
          job.embedVersion,
          document.documentId,
          res.vectors.map((v) => v.join(',')),
          embedded + batch.length,
          total,
          job.jobId,
          workerId,
        ],
      );
      embedded += batch.length;
      tokensUsed += res.promptTokens;
    }
    return {
      type: 'advance',
      progress: { chunks_embedded: embedded, chunks_total: total },
      detail: { batches: batches.length, embedded: pending.length, tokens: tokensUsed },
    };
  }
}
