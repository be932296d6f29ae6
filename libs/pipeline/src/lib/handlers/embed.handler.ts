import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EmbeddingModelsService } from '@app/embeddings';
import { prepared, runPrepared } from '@app/database';
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
    @InjectDataSource() private readonly ds: DataSource,
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
      const chunks = scratch.chunks?.map((c) => ({ ...c, done: false })) ?? await runPrepared<BufferedChunk & { done: boolean }>(
        this.ds,
        prepared(`SELECT b.chunk_id AS id, b.text, b.token_count AS tokens, EXISTS (
             SELECT 1 FROM upload_pipeline.document_vector_buffer v
             WHERE v.chunk_id = b.chunk_id AND v.embed_model = $2 AND v.embed_version = $3) AS done
           FROM upload_pipeline.document_chunk_buffer b
           WHERE b.document_id = $1
           ORDER BY b.ord`),
        [document.documentId, target.model, target.version],
      );
      total = chunks.length;
      const pending: BufferedChunk[] = chunks.filter((c) => !c.done);
      embedded += total - pending.length;
      for await (const { batch, result: res } of this.models.embedBatches(target, pending, signal)) {
        await runPrepared(this.ds, prepared(`WITH ins AS (
             INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
             SELECT id, $2, $3, $4, string_to_array(vec, ',')::real[]
             FROM unnest($1::uuid[], $5::text[]) AS t(id, vec)
             ON CONFLICT DO NOTHING
           )
           UPDATE upload_pipeline.upload_jobs
           SET progress = progress || jsonb_build_object('chunks_embedded', $6::int, 'chunks_total', $7::int), updated_at = now()
           WHERE job_id = $8 AND claimed_by = $9`),
          [
            batch.map((c) => c.id),
            target.model,
            target.version,
            document.documentId,
            res.vectors.map((v) => v.join(',')),
            embedded + batch.length,
            total * targets.length,
            job.jobId,
            workerId,
          ],
        );
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
