import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { TransientError } from '@app/errors';
import { createDataSource, migratedTemplate } from '@app/database';
import type { EmbedResult, Embedder } from '@app/embedder-client';
import { EmbeddingModelsService } from '@app/embeddings';
import { ClaimedJob, ClaimService, JobStore, JobTransitionsService, UploadsService } from '@app/jobs';
import { MetricsService } from '@app/observability';
import { LocalStorageDriver } from '@app/storage';
import { createTestDatabase, registerEmbeddingModel, TestDatabase } from '@app/testing';
import { ChunkingPool } from '../chunking.pool';
import type { JobContext, StageHandler } from '../job-context';
import { newQueuedJob, testPipelineOptions } from '../pipeline.test-fixtures';
import { StageRunner } from '../stage-runner.service';
import { ChunkHandler } from './chunk.handler';
import { EmbedHandler } from './embed.handler';
import { FinalizeHandler } from './finalize.handler';
import { PassThroughHandler } from './pass-through.handler';

const WORKER = 'embed-test';
const DIMS = 1536;
const options = testPipelineOptions(WORKER);

/** A vector of `dims` doubles drawn from the text (not float32 values: each is stored as the float4 nearest to it). */
function vectorOf(model: string, text: string, dims: number): number[] {
  let h = 2166136261;
  for (const ch of `${model}\u0000${text}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return Array.from({ length: dims }, () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ Math.imul(h ^ (h >>> 13), 3266489909);
    return ((h >>> 0) / 2 ** 32 - 0.5) * 0.2;
  });
}

/** Called with the number of requests so far, before each answer (a test may throw from it). */
let beforeAnswer: ((requests: number) => void) | undefined;

/** The embedding provider: vectors drawn from the texts, every request recorded. */
class FakeEmbedder implements Embedder {
  readonly maxInputTokens = 8191;
  readonly maxTokensPerRequest = 300_000;
  constructor(
    readonly model: string,
    readonly dimensions: number,
    readonly calls: { model: string; inputs: string[] }[],
    readonly limit: { maxInputs: number },
  ) {}
  get maxInputs(): number {
    return this.limit.maxInputs;
  }
  async embed(inputs: string[]): Promise<EmbedResult> {
    this.calls.push({ model: this.model, inputs });
    beforeAnswer?.(this.calls.length);
    return { vectors: inputs.map((t) => vectorOf(this.model, t, this.dimensions)), promptTokens: inputs.length, model: this.model };
  }
  countTokens(text: string): number {
    return text.length;
  }
  forModel(model: string, dimensions: number): Embedder {
    return new FakeEmbedder(model, dimensions, this.calls, this.limit);
  }
  async ping(): Promise<void> {
    return;
  }
}

/**
 * Embedding then finalize in one claim, through the runner, on a real PostgreSQL: every batch but the last goes into
 * the vector buffer as it comes back; the last is handed to finalize's statement (which commits embedding's
 * transition) and reaches the buffer only when embedding's transition is committed without that statement.
 */
describe('EmbedHandler and FinalizeHandler in one claim (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uploads: UploadsService;
  let transitions: JobTransitionsService;
  let claims: ClaimService;
  let store: JobStore;
  let embed: EmbedHandler;
  let finalize: FinalizeHandler;
  const calls: { model: string; inputs: string[] }[] = [];
  const limit = { maxInputs: 16 };

  /** A new job at embedding_in_progress whose document has `n` chunks buffered, claimed by the test's worker. */
  async function claimedWithChunks(n: number): Promise<{ claimed: ClaimedJob; chunks: { id: string; text: string }[] }> {
    const jobId = await newQueuedJob(uploads, transitions);
    const [{ document_id: documentId }] = (await ds.query(`SELECT document_id FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])) as {
      document_id: string;
    }[];
    const chunks = (await ds.query(
      `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
       SELECT gen_random_uuid(), $1::uuid, 'md-token', 1, i, 'chunk ' || i || ' of ' || $1::uuid::text, repeat('a', 64), 3
       FROM generate_series(0, $2::int - 1) AS i
       RETURNING chunk_id AS id, text`,
      [documentId, n],
    )) as { id: string; text: string }[];
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET stage = 'embedding_in_progress' WHERE job_id = $1`, [jobId]);
    return { claimed: await claimAgain(jobId), chunks };
  }

  async function claimAgain(jobId: string): Promise<ClaimedJob> {
    const [claimed] = await claims.claim(1);
    expect(claimed?.jobId).toBe(jobId);
    return claimed;
  }

  const runner = (handlers: StageHandler[]) =>
    new StageRunner(store, transitions, options, [...handlers, new PassThroughHandler()], new MetricsService({ app: 'worker', defaultMetrics: false }));
  const run = (claimed: ClaimedJob, handlers: StageHandler[] = [embed, finalize], shutdown = new AbortController(), leaseLost = new AbortController()) =>
    runner(handlers).run(claimed, shutdown.signal, leaseLost.signal);
  /** The real finalize, after `before` (which may throw). */
  const finalizeAfter = (before: (ctx: JobContext) => Promise<void>): StageHandler => ({
    stages: ['embeddings_stored'],
    run: async (ctx) => {
      await before(ctx);
      return finalize.run(ctx);
    },
  });

  /** The (chunk, model) pairs ever written into the vector buffer, in order (a trigger logs them). */
  const bufferWrites = async (documentId: string) =>
    ((await ds.query(`SELECT chunk_id, embed_model FROM public.vector_buffer_writes WHERE document_id = $1 ORDER BY n`, [documentId])) as {
      chunk_id: string;
      embed_model: string;
    }[]).map((r) => `${r.chunk_id} ${r.embed_model}`);
  const bufferNow = async (documentId: string) =>
    ((await ds.query(`SELECT chunk_id, embed_model FROM upload_pipeline.document_vector_buffer WHERE document_id = $1 ORDER BY chunk_id, embed_model`, [
      documentId,
    ])) as { chunk_id: string; embed_model: string }[]).map((r) => `${r.chunk_id} ${r.embed_model}`);
  const jobRow = async (jobId: string) =>
    ((await ds.query(`SELECT stage, state, claimed_by, progress, last_error FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])) as {
      stage: string;
      state: string;
      claimed_by: string | null;
      progress: Record<string, unknown>;
      last_error: { code: string; stage: string } | null;
    }[])[0];
  /** Each stored row's vector is exactly the float4 nearest to what the provider returned for its chunk and model. */
  async function expectStored(documentId: string, chunks: { id: string; text: string }[], models: string[]): Promise<void> {
    const rows = (await ds.query(
      `SELECT chunk_id, embed_model, embedding FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord, embed_model`,
      [documentId],
    )) as { chunk_id: string; embed_model: string; embedding: number[] }[];
    const expected = chunks.flatMap((c) => models.map((m) => ({ chunk_id: c.id, embed_model: m, embedding: vectorOf(m, c.text, DIMS).map(Math.fround) })));
    // (PostgreSQL prints a float4 with the fewest digits that read back as it: Math.fround gives the float4 exactly)
    expect(rows.map((r) => ({ ...r, embedding: r.embedding.map(Math.fround) }))).toEqual(expected);
    const [{ chunk_count, buffers }] = (await ds.query(
      `SELECT chunk_count, (SELECT count(*)::int FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1)
                           + (SELECT count(*)::int FROM upload_pipeline.document_vector_buffer WHERE document_id = $1) AS buffers
       FROM upload_pipeline.documents WHERE document_id = $1`,
      [documentId],
    )) as { chunk_count: number; buffers: number }[];
    expect({ chunk_count, buffers }).toEqual({ chunk_count: chunks.length, buffers: 0 });
  }
  const pairs = (chunks: { id: string }[], model: string) => chunks.map((c) => `${c.id} ${model}`);

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    await registerEmbeddingModel(ds, 'a', 1, DIMS); // active
    await ds.query(`
      CREATE TABLE public.vector_buffer_writes (n bigserial, document_id uuid, chunk_id uuid, embed_model text);
      CREATE FUNCTION public.log_vector_buffer_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO public.vector_buffer_writes (document_id, chunk_id, embed_model) VALUES (NEW.document_id, NEW.chunk_id, NEW.embed_model);
          RETURN NEW;
        END $$;
      CREATE TRIGGER log_write AFTER INSERT ON upload_pipeline.document_vector_buffer FOR EACH ROW EXECUTE FUNCTION public.log_vector_buffer_write();`);
    uploads = new UploadsService(ds);
    transitions = new JobTransitionsService(ds);
    claims = new ClaimService(ds, options);
    store = new JobStore(ds);
    const models = new EmbeddingModelsService(ds, new FakeEmbedder('a', DIMS, calls, limit), {
      configured: { model: 'a', version: 1, dimensions: DIMS },
      inUseCacheMs: 0,
    });
    embed = new EmbedHandler(store, models);
    finalize = new FinalizeHandler(models, store);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  beforeEach(async () => {
    await ds.query(`DELETE FROM upload_pipeline.documents`);
    calls.length = 0;
    limit.maxInputs = 16;
    beforeAnswer = undefined;
  });

  it('a one-batch document completes with its vectors never in the buffer, each exactly the float4 of what was returned', async () => {
    const { claimed, chunks } = await claimedWithChunks(3);
    expect(await run(claimed)).toBe('done');
    expect(calls).toEqual([{ model: 'a', inputs: chunks.map((c) => c.text) }]);
    expect(await bufferWrites(claimed.documentId)).toEqual([]);
    await expectStored(claimed.documentId, chunks, ['a']);
    expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'complete', state: 'done', progress: { chunks_embedded: 3, chunks_total: 3 } });
    // embedding's transition and the vectors committed in finalize's statement
    const events = (await ds.query(
      `SELECT event_type, stage, xmin::text AS tx FROM upload_pipeline.events WHERE job_id = $1 ORDER BY event_id DESC LIMIT 2`,
      [claimed.jobId],
    )) as { event_type: string; stage: string; tx: string }[];
    expect(events.map((e) => `${e.event_type} ${e.stage}`)).toEqual(['finalized complete', 'stage_done embeddings_stored']);
    expect(events[0].tx).toBe(events[1].tx);
  });

  it('a document of several batches buffers every batch but the last', async () => {
    limit.maxInputs = 2;
    const { claimed, chunks } = await claimedWithChunks(5);
    expect(await run(claimed)).toBe('done');
    expect(calls.map((c) => c.inputs.length)).toEqual([2, 2, 1]);
    expect(await bufferWrites(claimed.documentId)).toEqual(pairs(chunks.slice(0, 4), 'a'));
    await expectStored(claimed.documentId, chunks, ['a']);
  });

  it('a re-run after a crash embeds only the chunks without a vector, and hands the last of them over', async () => {
    limit.maxInputs = 2;
    const { claimed, chunks } = await claimedWithChunks(5);
    // a claim before the crash buffered the first batch
    await store.bufferVectors({
      jobId: claimed.jobId,
      workerId: WORKER,
      documentId: claimed.documentId,
      model: 'a',
      version: 1,
      chunkIds: chunks.slice(0, 2).map((c) => c.id),
      vectors: chunks.slice(0, 2).map((c) => vectorOf('a', c.text, DIMS)),
      chunksEmbedded: 2,
      chunksTotal: 5,
    });
    expect(await run(claimed)).toBe('done');
    expect(calls.map((c) => c.inputs)).toEqual([chunks.slice(2, 4).map((c) => c.text), [chunks[4].text]]);
    expect(await bufferWrites(claimed.documentId)).toEqual(pairs(chunks.slice(0, 4), 'a'));
    await expectStored(claimed.documentId, chunks, ['a']);
    expect((await jobRow(claimed.jobId)).progress).toMatchObject({ chunks_embedded: 5, chunks_total: 5 });
  });

  it("finalize failing after the hand-over: the batch goes into the buffer, the retry in a later claim finalizes from it", async () => {
    const { claimed, chunks } = await claimedWithChunks(3);
    const failing = finalizeAfter(async () => {
      throw new TransientError('database hiccup', { code: 'db_down' });
    });
    expect(await run(claimed, [embed, failing])).toBe('retryable');
    expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'embeddings_stored', state: 'retryable', last_error: { code: 'db_down' } });
    expect(await bufferNow(claimed.documentId)).toEqual(pairs(chunks, 'a').sort());

    await ds.query(`UPDATE upload_pipeline.upload_jobs SET next_attempt_at = now() WHERE job_id = $1`, [claimed.jobId]);
    expect(await run(await claimAgain(claimed.jobId))).toBe('done');
    expect(calls).toHaveLength(1); // not embedded again
    await expectStored(claimed.documentId, chunks, ['a']);
  });

  it('finalize refused for a chunk without a vector: the batch goes into the buffer, the job is retried at embeddings_stored (vectors_missing)', async () => {
    const { claimed, chunks } = await claimedWithChunks(2);
    // a chunk that no vector covers (as when a model was removed meanwhile)
    const extraChunk = finalizeAfter(async ({ document }) => {
      await ds.query(
        `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
         VALUES (gen_random_uuid(), $1, 'md-token', 1, 99, 'late', repeat('b', 64), 1)`,
        [document.documentId],
      );
    });
    expect(await run(claimed, [embed, extraChunk])).toBe('retryable');
    expect(await jobRow(claimed.jobId)).toMatchObject({
      stage: 'embeddings_stored',
      state: 'retryable',
      last_error: { code: 'vectors_missing', stage: 'embeddings_stored' },
      progress: { chunks_embedded: 2, chunks_total: 2 },
    });
    expect(await bufferNow(claimed.documentId)).toEqual(pairs(chunks, 'a').sort());
    const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.document_chunks WHERE document_id = $1`, [claimed.documentId])) as {
      n: number;
    }[];
    expect(n).toBe(0);
  });

  it('a shutdown during finalize releases the job at embeddings_stored with the batch in the buffer', async () => {
    const { claimed, chunks } = await claimedWithChunks(2);
    const shutdown = new AbortController();
    const stopping = finalizeAfter(async () => {
      shutdown.abort();
      throw new Error('aborted');
    });
    expect(await run(claimed, [embed, stopping], shutdown)).toBe('released');
    expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'embeddings_stored', state: 'queued', claimed_by: null });
    expect(await bufferNow(claimed.documentId)).toEqual(pairs(chunks, 'a').sort());
  });

  it('the lease lost before finalize commits: nothing written, and the next claim embeds the last batch only', async () => {
    limit.maxInputs = 2;
    const { claimed, chunks } = await claimedWithChunks(3);
    const leaseLost = new AbortController();
    const losing = finalizeAfter(async () => {
      leaseLost.abort();
      throw new Error('aborted');
    });
    expect(await run(claimed, [embed, losing], new AbortController(), leaseLost)).toBe('lost');
    expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'embedding_in_progress', state: 'working', claimed_by: WORKER });
    expect(await bufferNow(claimed.documentId)).toEqual(pairs(chunks.slice(0, 2), 'a').sort());

    calls.length = 0;
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = $1`, [claimed.jobId]);
    expect(await run(await claimAgain(claimed.jobId))).toBe('done');
    expect(calls).toEqual([{ model: 'a', inputs: [chunks[2].text] }]);
    await expectStored(claimed.documentId, chunks, ['a']);
  });

  it("embedding's transition committed on its own (not with finalize's): its last batch goes into the buffer first", async () => {
    limit.maxInputs = 2;
    const { claimed, chunks } = await claimedWithChunks(3);
    const alone: StageHandler = {
      stages: ['embedding_in_progress'],
      run: (ctx) => embed.run(ctx),
      writeHandedOver: (ctx) => embed.writeHandedOver(ctx),
    };
    expect(await run(claimed, [alone, finalize])).toBe('done');
    expect(await bufferWrites(claimed.documentId)).toEqual(pairs(chunks, 'a'));
    await expectStored(claimed.documentId, chunks, ['a']);
  });

  it("while a re-embedding builds: the active model's batches all buffered, the building model's last handed over, both stored", async () => {
    limit.maxInputs = 2;
    await registerEmbeddingModel(ds, 'b', 1, DIMS);
    await ds.query(`UPDATE upload_pipeline.embedding_models SET state = 'building', retired_at = NULL WHERE embed_model = 'b'`);
    try {
      const { claimed, chunks } = await claimedWithChunks(3);
      expect(await run(claimed)).toBe('done');
      expect(calls.map((c) => `${c.model} ${c.inputs.length}`)).toEqual(['a 2', 'a 1', 'b 2', 'b 1']);
      expect(await bufferWrites(claimed.documentId)).toEqual([...pairs(chunks, 'a'), ...pairs(chunks.slice(0, 2), 'b')]);
      await expectStored(claimed.documentId, chunks, ['a', 'b']);
      expect((await jobRow(claimed.jobId)).progress).toMatchObject({ chunks_embedded: 6, chunks_total: 6 });
    } finally {
      await ds.query(`DELETE FROM upload_pipeline.embedding_models WHERE embed_model = 'b'`);
    }
  });

  /**
   * From chunking in the same claim: the chunks stay in hand (no buffer) and go into document_chunks with their vectors
   * in finalize's statement, with every transition from chunking on; anything else that commits chunking's transition
   * first writes them into the buffer.
   */
  describe('from chunking: the chunks in hand', () => {
    let dir: string;
    let storage: LocalStorageDriver;
    let pool: ChunkingPool;
    let chunk: ChunkHandler;
    /** `n` sections of about 20 tokens each: with 24-token chunks, one chunk a section. */
    const sections = (n: number) =>
      Array.from({ length: n }, (_, i) => `## Section ${i}\n\nParagraph ${i} of the document, a few words that make one small chunk.\n`).join('\n');

    /** A new job at chunking whose parsed text has `n` sections, claimed (as queued, or taken over from an expired lease). */
    async function claimedAtChunking(n: number, takenOver = false): Promise<ClaimedJob> {
      const jobId = await newQueuedJob(uploads, transitions);
      const [{ document_id: documentId }] = (await ds.query(`SELECT document_id FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])) as {
        document_id: string;
      }[];
      const key = `parsed/${documentId}`;
      await storage.putObject(key, Buffer.from(sections(n)));
      await ds.query(`UPDATE upload_pipeline.documents SET parsed_path = $2 WHERE document_id = $1`, [documentId, key]);
      await ds.query(
        takenOver
          ? `UPDATE upload_pipeline.upload_jobs SET stage = 'chunking', state = 'working', claimed_by = 'crashed', lease_expires_at = now() - interval '1 second' WHERE job_id = $1`
          : `UPDATE upload_pipeline.upload_jobs SET stage = 'chunking' WHERE job_id = $1`,
        [jobId],
      );
      const claimed = await claimAgain(jobId);
      expect(claimed.fromState).toBe(takenOver ? 'working' : 'queued');
      return claimed;
    }

    /** The chunks the document ended with, in order (their vectors are checked by expectStored). */
    const storedChunks = async (documentId: string) =>
      (await ds.query(`SELECT chunk_id AS id, text FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`, [documentId])) as {
        id: string;
        text: string;
      }[];
    const chunkBufferWrites = async (documentId: string) =>
      ((await ds.query(`SELECT count(*)::int AS n FROM public.chunk_buffer_writes WHERE document_id = $1`, [documentId])) as { n: number }[])[0].n;
    const buffered = async (documentId: string) =>
      ((await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1`, [documentId])) as {
        n: number;
      }[])[0].n;

    beforeAll(async () => {
      await ds.query(`
        CREATE TABLE public.chunk_buffer_writes (n bigserial, document_id uuid, chunk_id uuid);
        CREATE FUNCTION public.log_chunk_buffer_write() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO public.chunk_buffer_writes (document_id, chunk_id) VALUES (NEW.document_id, NEW.chunk_id);
            RETURN NEW;
          END $$;
        CREATE TRIGGER log_write AFTER INSERT ON upload_pipeline.document_chunk_buffer FOR EACH ROW EXECUTE FUNCTION public.log_chunk_buffer_write();`);
      dir = mkdtempSync(join(tmpdir(), 'chunks-in-hand-'));
      storage = new LocalStorageDriver({ root: dir, signingSecret: 'chunks-in-hand-signing-secret', publicBaseUrl: 'http://127.0.0.1:1' });
      const opts = testPipelineOptions(WORKER, 30_000, { chunker: { name: 'md-token', version: 1, maxTokens: 24, overlapTokens: 0 } });
      pool = new ChunkingPool(opts);
      chunk = new ChunkHandler(store, storage, { maxInputTokens: 8191 } as Embedder, opts, pool);
    });
    afterAll(async () => {
      await pool?.onModuleDestroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('a fresh claim of a one-batch document: no buffer at all, chunks, vectors and every transition from chunking in one statement', async () => {
      const claimed = await claimedAtChunking(3);
      expect(await run(claimed, [chunk, embed, finalize])).toBe('done');
      const chunks = await storedChunks(claimed.documentId);
      expect(chunks).toHaveLength(3);
      expect(calls).toEqual([{ model: 'a', inputs: chunks.map((c) => c.text) }]);
      expect(await chunkBufferWrites(claimed.documentId)).toBe(0);
      expect(await bufferWrites(claimed.documentId)).toEqual([]);
      await expectStored(claimed.documentId, chunks, ['a']);
      expect(await jobRow(claimed.jobId)).toMatchObject({
        stage: 'complete',
        state: 'done',
        progress: { chunks_total: 3, chunks_embedded: 3 },
      });
      const events = (await ds.query(
        `SELECT event_type, stage, xmin::text AS tx, detail FROM upload_pipeline.events WHERE job_id = $1 AND from_stage IN
           ('chunking', 'chunks_stored', 'embedding_queued', 'embedding_in_progress', 'embeddings_stored') AND event_type <> 'stage_started'
         ORDER BY event_id`,
        [claimed.jobId],
      )) as { event_type: string; stage: string; tx: string; detail: Record<string, unknown> }[];
      expect(events.map((e) => `${e.event_type} ${e.stage}`)).toEqual([
        'stage_done chunks_stored',
        'stage_done embedding_queued',
        'stage_done embedding_in_progress',
        'stage_done embeddings_stored',
        'finalized complete',
      ]);
      expect(events[0].detail).toMatchObject({ chunks: 3 });
      const [{ tx }] = (await ds.query(`SELECT DISTINCT xmin::text AS tx FROM upload_pipeline.document_chunks WHERE document_id = $1`, [
        claimed.documentId,
      ])) as { tx: string }[];
      expect(new Set(events.map((e) => e.tx))).toEqual(new Set([tx]));
    });

    it('several batches: the chunks go into the buffer before the first batch of vectors, and the rest as before', async () => {
      limit.maxInputs = 2;
      const claimed = await claimedAtChunking(5);
      expect(await run(claimed, [chunk, embed, finalize])).toBe('done');
      const chunks = await storedChunks(claimed.documentId);
      expect(calls.map((c) => c.inputs.length)).toEqual([2, 2, 1]);
      expect(await chunkBufferWrites(claimed.documentId)).toBe(5);
      expect(await bufferWrites(claimed.documentId)).toEqual(pairs(chunks.slice(0, 4), 'a'));
      await expectStored(claimed.documentId, chunks, ['a']);
    });

    it('finalize failing: the chunks, then the last batch, go into the buffer; the retry finalizes from it without embedding again', async () => {
      const claimed = await claimedAtChunking(3);
      const failing = finalizeAfter(async () => {
        throw new TransientError('database hiccup', { code: 'db_down' });
      });
      expect(await run(claimed, [chunk, embed, failing])).toBe('retryable');
      expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'embeddings_stored', state: 'retryable', last_error: { code: 'db_down' } });
      expect(await buffered(claimed.documentId)).toBe(3);
      expect(await bufferNow(claimed.documentId)).toHaveLength(3);

      await ds.query(`UPDATE upload_pipeline.upload_jobs SET next_attempt_at = now() WHERE job_id = $1`, [claimed.jobId]);
      expect(await run(await claimAgain(claimed.jobId), [chunk, embed, finalize])).toBe('done');
      expect(calls).toHaveLength(1);
      await expectStored(claimed.documentId, await storedChunks(claimed.documentId), ['a']);
      expect(await storedChunks(claimed.documentId)).toHaveLength(3);
    });

    it("finalize refusing the chunks in hand (their vectors' model is not registered): the chunks, then the vectors, go into the buffer", async () => {
      const claimed = await claimedAtChunking(3);
      // as if the vectors' model had been removed between embedding and finalize's statement
      const unregistered = finalizeAfter(async ({ scratch }) => {
        if (scratch.vectors) scratch.vectors = { ...scratch.vectors, model: 'gone' };
      });
      expect(await run(claimed, [chunk, embed, unregistered])).toBe('retryable');
      expect(await jobRow(claimed.jobId)).toMatchObject({
        stage: 'embeddings_stored',
        state: 'retryable',
        last_error: { code: 'vectors_missing', stage: 'embeddings_stored' },
      });
      // the fail path wrote the hand-overs in order: the chunk rows first (the vectors reference them)
      expect(await buffered(claimed.documentId)).toBe(3);
      expect(await bufferNow(claimed.documentId)).toHaveLength(3);
      expect((await bufferNow(claimed.documentId)).every((p) => p.endsWith(' gone'))).toBe(true);
      expect(await storedChunks(claimed.documentId)).toEqual([]);
    });

    it('the lease lost before finalize commits: nothing written; the claim that takes the job over buffers the chunks with chunking', async () => {
      const claimed = await claimedAtChunking(3);
      const leaseLost = new AbortController();
      const losing = finalizeAfter(async () => {
        leaseLost.abort();
        throw new Error('aborted');
      });
      expect(await run(claimed, [chunk, embed, losing], new AbortController(), leaseLost)).toBe('lost');
      expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'chunking', state: 'working', claimed_by: WORKER });
      expect(await chunkBufferWrites(claimed.documentId)).toBe(0);
      expect(await bufferWrites(claimed.documentId)).toEqual([]);

      await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = $1`, [claimed.jobId]);
      const again = await claimAgain(claimed.jobId);
      expect(again.fromState).toBe('working');
      expect(await run(again, [chunk, embed, finalize])).toBe('done');
      expect(await chunkBufferWrites(claimed.documentId)).toBe(3); // with chunking's transition, as before #31
      expect(calls).toHaveLength(2); // the one batch was never committed: embedded again, as before
      await expectStored(claimed.documentId, await storedChunks(claimed.documentId), ['a']);
    });

    it('taken over from an expired lease: the chunks are buffered with chunking\'s transition and embedding finds the earlier vectors', async () => {
      limit.maxInputs = 2;
      // the first claim buffers the chunks and the first batch, then loses the job during the second batch
      const claimed = await claimedAtChunking(5);
      const leaseLost = new AbortController();
      beforeAnswer = (n) => {
        if (n === 2) {
          leaseLost.abort();
          throw new Error('aborted');
        }
      };
      expect(await run(claimed, [chunk, embed, finalize], new AbortController(), leaseLost)).toBe('lost');
      beforeAnswer = undefined;
      expect(await buffered(claimed.documentId)).toBe(5);
      const first = await bufferWrites(claimed.documentId);
      expect(first).toHaveLength(2);
      expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'chunking', state: 'working', claimed_by: WORKER });

      // the claim that takes it over embeds only the three chunks without a vector
      calls.length = 0;
      await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = $1`, [claimed.jobId]);
      expect(await run(await claimAgain(claimed.jobId), [chunk, embed, finalize])).toBe('done');
      const chunks = await storedChunks(claimed.documentId);
      expect(calls.map((c) => c.inputs)).toEqual([chunks.slice(2, 4).map((c) => c.text), [chunks[4].text]]);
      expect(first).toEqual(pairs(chunks.slice(0, 2), 'a'));
      expect(await chunkBufferWrites(claimed.documentId)).toBe(5); // with chunking's transition: all there already
      await expectStored(claimed.documentId, chunks, ['a']);
    });

    it('writes nothing into the buffers for a job no longer in this worker\'s hands (finalized meanwhile, or taken over)', async () => {
      const claimed = await claimedAtChunking(3);
      let ctx: JobContext | undefined;
      const keep: StageHandler = { stages: ['embeddings_stored'], takesHandOvers: true, run: async (c) => ((ctx = c), finalize.run(c)) };
      expect(await run(claimed, [chunk, embed, keep])).toBe('done');
      if (!ctx) throw new Error('finalize did not run');
      // as fail() would after a finalize that committed but whose answer was lost: the job is complete, not ours
      const rows = await storedChunks(claimed.documentId);
      ctx.scratch.pendingChunks = rows.map((r, ord) => ({
        chunkId: r.id,
        chunker: 'md-token',
        version: 1,
        ord,
        text: r.text,
        chunkSha: 'f'.repeat(64),
        tokenCount: 1,
        meta: {},
      }));
      await embed.writeHandedOver(ctx);
      expect(await chunkBufferWrites(claimed.documentId)).toBe(0);
      expect(await bufferWrites(claimed.documentId)).toEqual([]);
      expect(await buffered(claimed.documentId)).toBe(0);
    });

    it("embedding's transition committed on its own: the chunks, then its last batch, go into the buffer before its statement", async () => {
      const claimed = await claimedAtChunking(3);
      const alone: StageHandler = {
        stages: ['embedding_in_progress'],
        run: (ctx) => embed.run(ctx),
        writeHandedOver: (ctx) => embed.writeHandedOver(ctx),
      };
      expect(await run(claimed, [chunk, alone, finalize])).toBe('done');
      const chunks = await storedChunks(claimed.documentId);
      expect(await chunkBufferWrites(claimed.documentId)).toBe(3);
      expect(await bufferWrites(claimed.documentId)).toEqual(pairs(chunks, 'a'));
      await expectStored(claimed.documentId, chunks, ['a']);
    });

    it('a shutdown during embedding releases the job at embedding_in_progress with the chunks in the buffer', async () => {
      const claimed = await claimedAtChunking(3);
      const shutdown = new AbortController();
      const stopping: StageHandler = {
        stages: ['embedding_in_progress'],
        run: async () => {
          shutdown.abort();
          throw new Error('aborted');
        },
      };
      expect(await run(claimed, [chunk, stopping, finalize], shutdown)).toBe('released');
      expect(await jobRow(claimed.jobId)).toMatchObject({ stage: 'embedding_in_progress', state: 'queued', claimed_by: null });
      expect(await buffered(claimed.documentId)).toBe(3);
    });
  });
});
