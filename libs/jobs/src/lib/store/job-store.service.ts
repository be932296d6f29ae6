import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { float4Array, float4Slice, prepared, runPrepared } from '@app/database';
import type { ChunkRow, ChunkVectors } from './stage-writes';
import { CHUNK_COLUMNS, chunkParams, chunkRowsSql } from './stage-writes.sql';

/** A chunk in the buffer, as embedding needs it, and whether it has the model's vector already. */
export interface BufferedChunkRow {
  id: string;
  text: string;
  tokens: number;
  done: boolean;
}

/** Who must hold the job (`working`, claimed by the worker) for a buffer write to happen. */
export interface JobOwner {
  jobId: string;
  workerId: string;
}

/** One micro-batch's vectors, with the job's progress: written (vectors and progress) only while `workerId` holds the job. */
export interface VectorBatch extends ChunkVectors, JobOwner {
  documentId: string;
  /** Progress after this batch. */
  chunksEmbedded: number;
  chunksTotal: number;
}

/** The job is in this worker's hands ($a: job id, $b: worker id): buffer writes of a worker that lost it write nothing. */
const held = (a: string, b: string) =>
  `EXISTS (SELECT 1 FROM upload_pipeline.upload_jobs j WHERE j.job_id = ${a}::uuid AND j.claimed_by = ${b} AND j.state = 'working')`;

const INSERT_CHUNKS = prepared(`INSERT INTO upload_pipeline.document_chunk_buffer (${CHUNK_COLUMNS})
         ${chunkRowsSql(['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9'])}
         WHERE ${held('$10', '$11')}
         ON CONFLICT DO NOTHING`);

const BUFFERED_CHUNKS = prepared(`SELECT b.chunk_id AS id, b.text, b.token_count AS tokens, EXISTS (
             SELECT 1 FROM upload_pipeline.document_vector_buffer v
             WHERE v.chunk_id = b.chunk_id AND v.embed_model = $2 AND v.embed_version = $3) AS done
           FROM upload_pipeline.document_chunk_buffer b
           WHERE b.document_id = $1
           ORDER BY b.ord`);

// the vectors go in as one binary real[] (float4Array), sliced per chunk: no text to print or parse
const INSERT_VECTORS = prepared(`WITH ins AS (
             INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
             SELECT t.id, $2, $3, $4, ${float4Slice('$5', 't.n', '$10')}
             FROM unnest($1::uuid[]) WITH ORDINALITY AS t (id, n)
             WHERE ${held('$8', '$9')}
             ON CONFLICT DO NOTHING
           )
           UPDATE upload_pipeline.upload_jobs
           SET progress = progress || jsonb_build_object('chunks_embedded', $6::int, 'chunks_total', $7::int), updated_at = now()
           WHERE job_id = $8 AND claimed_by = $9`);

const JOB_EXISTS = prepared(`SELECT EXISTS (SELECT 1 FROM upload_pipeline.upload_jobs WHERE job_id = $1) AS exists`);
const WEBHOOK_LOGGED = prepared(`SELECT 1 FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = $2 LIMIT 1`);
const WEBHOOK_SECRET = prepared(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`);

/**
 * The pipeline's reads and writes of the job tables besides claims (ClaimService) and transitions
 * (JobTransitionsService): the job's rows, the chunk and vector buffers, the parser webhook's traces.
 */
@Injectable()
export class JobStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async jobExists(jobId: string): Promise<boolean> {
    const [{ exists }] = await runPrepared<{ exists: boolean }>(this.ds, JOB_EXISTS, [jobId]);
    return exists;
  }

  /** The job's secret for signing the parser's webhook. */
  async webhookSecret(jobId: string): Promise<string> {
    const rows = await runPrepared<{ webhook_secret: string }>(this.ds, WEBHOOK_SECRET, [jobId]);
    if (!rows.length) throw new Error(`job ${jobId} is gone`);
    return rows[0].webhook_secret;
  }

  /** A verified webhook for this parse of the job was logged. */
  async parserWebhookLogged(jobId: string, parserJobId: string): Promise<boolean> {
    return (await runPrepared(this.ds, WEBHOOK_LOGGED, [jobId, parserJobId])).length > 0;
  }

  /**
   * Chunks into the document's buffer in a statement of their own (ON CONFLICT DO NOTHING: a re-run writes none twice).
   * The last slice of a document's chunks goes in its transition's statement instead (a `buffer_chunks` write). Only
   * while the job is in `owner`'s hands: a worker that lost it (or whose job was finalized meanwhile) writes nothing.
   */
  async bufferChunks(owner: JobOwner, documentId: string, rows: readonly ChunkRow[]): Promise<void> {
    await runPrepared(this.ds, INSERT_CHUNKS, [...chunkParams(rows, documentId), owner.jobId, owner.workerId]);
  }

  /** The document's buffered chunks, in order, each marked when it already has this model's vector. */
  bufferedChunks(documentId: string, model: string, version: number): Promise<BufferedChunkRow[]> {
    return runPrepared<BufferedChunkRow>(this.ds, BUFFERED_CHUNKS, [documentId, model, version]);
  }

  /**
   * One batch's vectors into the vector buffer and the job's progress, in one statement (committed as it returns); only
   * while the job is in the batch's worker's hands.
   */
  async bufferVectors(b: VectorBatch): Promise<void> {
    if (b.vectors.length !== b.chunkIds.length) throw new Error(`bufferVectors: ${b.vectors.length} vectors for ${b.chunkIds.length} chunks`);
    await runPrepared(this.ds, INSERT_VECTORS, [
      b.chunkIds,
      b.model,
      b.version,
      b.documentId,
      float4Array(b.vectors),
      b.chunksEmbedded,
      b.chunksTotal,
      b.jobId,
      b.workerId,
      b.vectors[0]?.length ?? 0,
    ]);
  }
}
