import { DataSource } from 'typeorm';
import { TransientError } from '@app/errors';
import { createDataSource, DocumentEntity, migratedTemplate, UploadJobEntity } from '@app/database';
import type { Embedder } from '@app/embedder-client';
import { EmbeddingModelsService } from '@app/embeddings';
import { AppliedTransition, ChunkRow, JobStore, JobTransitionsService, UploadsService, VectorBatch } from '@app/jobs';
import { createTestDatabase, registerEmbeddingModel, TestDatabase } from '@app/testing';
import type { ClaimScratch, JobContext } from '../job-context';
import { newQueuedJob } from '../pipeline.test-fixtures';
import { FinalizeHandler } from './finalize.handler';

const WORKER = 'finalize-test';
const C = ['20000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000003'];

/**
 * The finalize writes, in the final transition's own statement (conditional on every chunk having a vector, and on
 * the job's compare-and-set), on a real PostgreSQL.
 */
describe('FinalizeHandler (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let handler: FinalizeHandler;
  let transitions: JobTransitionsService;
  let jobId: string;
  let document: DocumentEntity;

  const count = async (sql: string): Promise<number> => Number(((await ds.query(sql, [document.documentId])) as { n: string }[])[0].n);
  const state = async () => ({
    chunkBuffer: await count(`SELECT count(*) AS n FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1`),
    vectorBuffer: await count(`SELECT count(*) AS n FROM upload_pipeline.document_vector_buffer WHERE document_id = $1`),
    chunks: await count(`SELECT count(*) AS n FROM upload_pipeline.document_chunks WHERE document_id = $1`),
    chunkCount: await count(`SELECT coalesce(chunk_count, -1) AS n FROM upload_pipeline.documents WHERE document_id = $1`),
  });
  const job = async () =>
    ((await ds.query(
      `SELECT j.stage, j.state, d.processing_status FROM upload_pipeline.upload_jobs j JOIN upload_pipeline.documents d USING (document_id)
       WHERE j.job_id = $1`,
      [jobId],
    )) as { stage: string; state: string; processing_status: string }[])[0];
  const vector = (chunkId: string, model: string) =>
    ds.query(
      `INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
       VALUES ($1, $2, 1, $3, '{1,0,0}')`,
      [chunkId, model, document.documentId],
    );
  /** The job at embeddings_stored, in this worker's hands. */
  const atFinalize = () =>
    ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'embeddings_stored', state = 'working', claimed_by = $2,
       lease_expires_at = now() + interval '1 minute', completed_at = NULL WHERE job_id = $1`,
      [jobId, WORKER],
    );
  /** The stage's result applied as the runner applies it: the final transition, with the stage's writes. */
  const finalize = async (workerId = WORKER, scratch: ClaimScratch = {}): Promise<AppliedTransition[] | null> => {
    const result = await handler.run({ job: { jobId } as UploadJobEntity, workerId, document, scratch } as JobContext);
    if (result.type !== 'advance' || !result.write) throw new Error('finalize must write with the transition');
    return transitions.applySteps(jobId, { stage: 'embeddings_stored', state: 'working' }, [{ type: 'advance', chain: true }], {
      workerId,
      write: result.write,
    });
  };

  /** A new job whose document has `chunkIds` in its chunk buffer, at embeddings_stored in this worker's hands. */
  const newDocument = async (chunkIds: readonly string[]) => {
    jobId = await newQueuedJob(new UploadsService(ds), transitions);
    document = (await ds.getRepository(DocumentEntity).findOneByOrFail({
      documentId: ((await ds.query(`SELECT document_id FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])) as { document_id: string }[])[0]
        .document_id,
    })) as DocumentEntity;
    for (const [ord, id] of chunkIds.entries()) {
      await ds.query(
        `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
         VALUES ($1, $2, 'md-token', 1, $3, $4, $5, 2)`,
        [id, document.documentId, ord, `chunk ${ord}`, String(ord).repeat(64)],
      );
    }
    await atFinalize();
  };

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    await registerEmbeddingModel(ds, 'a', 1, 3); // active
    await registerEmbeddingModel(ds, 'b', 1, 3); // a second registered model (as while a re-embedding builds)
    const models = new EmbeddingModelsService(ds, {} as Embedder, { configured: { model: 'a', version: 1, dimensions: 3 }, inUseCacheMs: 0 });
    handler = new FinalizeHandler(models, new JobStore(ds));
    transitions = new JobTransitionsService(ds);
    await newDocument(C);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('changes nothing while a chunk has no vector of a registered model, and says how many', async () => {
    await vector(C[0], 'a');
    await vector(C[1], 'a');
    await vector(C[2], 'gone'); // a model no longer registered (a cancelled build) does not count
    await expect(finalize()).rejects.toThrow(TransientError);
    await expect(finalize()).rejects.toThrow('1 chunks have no vector yet');
    expect(await state()).toEqual({ chunkBuffer: 3, vectorBuffer: 3, chunks: 0, chunkCount: -1 });
    expect(await job()).toMatchObject({ stage: 'embeddings_stored', state: 'working' });
  });

  it('moves nothing for a job no longer in this worker\'s hands, even with every vector there', async () => {
    await vector(C[2], 'a');
    await vector(C[0], 'b'); // the model being built has a vector for one chunk
    await expect(finalize('another-worker')).resolves.toBeNull();
    expect(await state()).toEqual({ chunkBuffer: 3, vectorBuffer: 5, chunks: 0, chunkCount: -1 });
    expect(await job()).toMatchObject({ stage: 'embeddings_stored', state: 'working' });
  });

  it("moves every chunk with each registered model's vector, empties both buffers, counts distinct chunks, completes the job", async () => {
    const applied = await finalize();
    expect(applied?.map((t) => t.to)).toEqual([{ stage: 'complete', state: 'done' }]);
    // 3 chunks x model a + 1 x model b; the unregistered model's vector is dropped with the buffer
    expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 4, chunkCount: 3 });
    expect(await job()).toEqual({ stage: 'complete', state: 'done', processing_status: 'complete' });
    const rows = (await ds.query(
      `SELECT chunk_id, embed_model, text, user_id FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord, embed_model`,
      [document.documentId],
    )) as { chunk_id: string; embed_model: string; text: string; user_id: string }[];
    expect(rows).toEqual([
      { chunk_id: C[0], embed_model: 'a', text: 'chunk 0', user_id: document.userId },
      { chunk_id: C[0], embed_model: 'b', text: 'chunk 0', user_id: document.userId },
      { chunk_id: C[1], embed_model: 'a', text: 'chunk 1', user_id: document.userId },
      { chunk_id: C[2], embed_model: 'a', text: 'chunk 2', user_id: document.userId },
    ]);
  });

  it('run again with empty buffers: writes nothing twice and keeps the count', async () => {
    await atFinalize();
    expect(await finalize()).not.toBeNull();
    expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 4, chunkCount: 3 });
  });

  describe("with embedding's last batch handed over in the claim's scratch (not in the buffer)", () => {
    const D = ['21000000-0000-4000-8000-000000000001', '21000000-0000-4000-8000-000000000002', '21000000-0000-4000-8000-000000000003'];
    // not float32 values: each is stored as the float4 nearest to it
    const VECTORS = [
      [0.1, -0.2, 1 / 3],
      [Math.PI, -Math.E, 1e-7],
    ];
    const handedOver = (model: string, chunkIds: string[], vectors = VECTORS): ClaimScratch => ({
      vectors: {
        jobId,
        workerId: WORKER,
        documentId: document.documentId,
        model,
        version: 1,
        chunkIds,
        vectors,
        chunksEmbedded: 3,
        chunksTotal: 3,
      },
    });
    const stored = async () =>
      (await ds.query(`SELECT chunk_id, embed_model, embedding FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord, embed_model`, [
        document.documentId,
      ])) as { chunk_id: string; embed_model: string; embedding: number[] }[];

    beforeAll(async () => {
      await newDocument(D);
      await vector(D[0], 'a');
    });

    it('counts them as the buffer\'s: missing only the chunks that neither has a vector of a registered model for', async () => {
      // D[2] has none
      await expect(finalize(WORKER, handedOver('a', [D[1]], VECTORS.slice(0, 1)))).rejects.toThrow('1 chunks have no vector yet');
      // a model no longer registered (a cancelled build) does not count, here as in the buffer
      await expect(finalize(WORKER, handedOver('gone', [D[1], D[2]]))).rejects.toThrow('2 chunks have no vector yet');
      // a later claim has none: the buffer only
      await expect(finalize(WORKER)).rejects.toThrow('2 chunks have no vector yet');
      expect(await state()).toEqual({ chunkBuffer: 3, vectorBuffer: 1, chunks: 0, chunkCount: -1 });
      expect(await job()).toMatchObject({ stage: 'embeddings_stored', state: 'working' });
    });

    it('moves nothing for a job no longer in this worker\'s hands', async () => {
      await expect(finalize('another-worker', handedOver('a', [D[1], D[2]]))).resolves.toBeNull();
      expect(await state()).toEqual({ chunkBuffer: 3, vectorBuffer: 1, chunks: 0, chunkCount: -1 });
    });

    it('moves them with the buffered ones, each exactly as the float4 nearest to the value handed over', async () => {
      const applied = await finalize(WORKER, handedOver('a', [D[1], D[2]]));
      expect(applied?.map((t) => t.to)).toEqual([{ stage: 'complete', state: 'done' }]);
      expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 3, chunkCount: 3 });
      const rows = await stored();
      expect(rows.map((r) => [r.chunk_id, r.embed_model])).toEqual([
        [D[0], 'a'],
        [D[1], 'a'],
        [D[2], 'a'],
      ]);
      // (PostgreSQL prints a float4 with the fewest digits that read back as it: the float4 exactly)
      expect(rows.map((r) => r.embedding.map(Math.fround))).toEqual([[1, 0, 0], ...VECTORS.map((v) => v.map(Math.fround))]);
    });
  });

  describe("with the chunks in hand (this claim's chunking handed them over: not in the buffer)", () => {
    const E = ['40000000-0000-4000-8000-000000000001', '40000000-0000-4000-8000-000000000002'];
    const rows: ChunkRow[] = E.map((id, ord) => ({
      chunkId: id,
      chunker: 'md-token',
      version: 1,
      ord,
      text: `in hand ${ord}`,
      chunkSha: String(ord + 5).repeat(64),
      tokenCount: 3,
      meta: { heading_path: ['H'], page_start: 1, page_end: 1 },
    }));
    const VECTORS = [
      [0.25, -1 / 3, 7],
      [1e-3, 2, -0.5],
    ];
    // the vectors in another order than the chunks: matched by chunk id
    const inHand = (model = 'a'): ClaimScratch => ({
      pendingChunks: rows,
      vectors: { jobId, workerId: WORKER, documentId: document.documentId, model, version: 1, chunkIds: [E[1], E[0]], vectors: [VECTORS[1], VECTORS[0]], chunksEmbedded: 2, chunksTotal: 2 },
    });
    const stored = async () =>
      (await ds.query(
        `SELECT chunk_id, ord, text, chunk_sha, token_count, meta, embed_model, embedding FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`,
        [document.documentId],
      )) as { chunk_id: string; ord: number; text: string; embed_model: string; embedding: number[] }[];

    beforeEach(async () => {
      await newDocument([]);
    });

    it('a model no longer registered: every chunk missing, nothing written', async () => {
      await expect(finalize(WORKER, inHand('gone'))).rejects.toThrow('2 chunks have no vector yet');
      expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 0, chunkCount: -1 });
      expect(await job()).toMatchObject({ stage: 'embeddings_stored', state: 'working' });
    });

    it('moves nothing for a job no longer in this worker\'s hands', async () => {
      await expect(finalize('another-worker', inHand())).resolves.toBeNull();
      expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 0, chunkCount: -1 });
    });

    it('stores the chunks with their vectors, exactly as handed over, and drops what an earlier attempt left in the buffers', async () => {
      // an earlier attempt's leftovers (another chunking of the document, one with a vector)
      await ds.query(
        `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
         VALUES ($1, $2, 'md-token', 0, 0, 'stale', repeat('9', 64), 1)`,
        [C[0], document.documentId],
      );
      await vector(C[0], 'a');
      const applied = await finalize(WORKER, inHand());
      expect(applied?.map((t) => t.to)).toEqual([{ stage: 'complete', state: 'done' }]);
      expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 2, chunkCount: 2 });
      const got = await stored();
      expect(got.map(({ embedding: _vector, ...r }) => r)).toEqual(
        rows.map((c) => ({
          chunk_id: c.chunkId,
          ord: c.ord,
          text: c.text,
          chunk_sha: c.chunkSha,
          token_count: c.tokenCount,
          meta: c.meta,
          embed_model: 'a',
        })),
      );
      expect(got.map((r) => r.embedding.map(Math.fround))).toEqual(VECTORS.map((v) => v.map(Math.fround)));
      expect(await job()).toMatchObject({ stage: 'complete', state: 'done', processing_status: 'complete' });
    });

    it('without a vector for every chunk in hand: the chunks go into the buffer and finalize reads it (here: one missing)', async () => {
      const scratch = inHand();
      scratch.vectors = { ...(scratch.vectors as VectorBatch), chunkIds: [E[0]], vectors: [VECTORS[0]] };
      await expect(finalize(WORKER, scratch)).rejects.toThrow('1 chunks have no vector yet');
      expect(scratch.pendingChunks).toBeUndefined();
      expect(await state()).toEqual({ chunkBuffer: 2, vectorBuffer: 0, chunks: 0, chunkCount: -1 });
    });
  });
});
