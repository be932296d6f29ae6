import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createDataSource, DocumentEntity, migratedTemplate, UploadJobEntity } from '@app/database';
import type { Embedder } from '@app/embedder-client';
import { AppliedTransition, JobStore, JobTransitionsService, UploadsService } from '@app/jobs';
import { LocalStorageDriver } from '@app/storage';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ChunkingPool } from '../chunking.pool';
import type { ClaimScratch, JobContext } from '../job-context';
import { newQueuedJob, testPipelineOptions } from '../pipeline.test-fixtures';
import { ChunkHandler } from './chunk.handler';

const WORKER = 'chunk-test';

/** `n` sections of about 20 tokens each: with 24-token chunks, one chunk a section. */
const sections = (n: number) =>
  Array.from({ length: n }, (_, i) => `## Section ${i}\n\nParagraph ${i} of the document, a few words that make one small chunk.\n`).join('\n');

/**
 * The chunk rows, written by the chunking stage: the last slice of rows in the transition's own statement (only when
 * the transition applies), earlier slices of a long document in statements of their own; on a real PostgreSQL.
 */
describe('ChunkHandler (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let dir: string;
  let handler: ChunkHandler;
  let pool: ChunkingPool;
  let transitions: JobTransitionsService;
  let uploads: UploadsService;

  /** A job at chunking/working in this worker's hands, with its document. */
  async function atChunking(): Promise<{ jobId: string; document: DocumentEntity }> {
    const jobId = await newQueuedJob(uploads, transitions);
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'chunking', state = 'working', claimed_by = $2, lease_expires_at = now() + interval '1 minute'
       WHERE job_id = $1`,
      [jobId, WORKER],
    );
    // (an UPDATE through ds.query answers [rows, count])
    const [[{ document_id }]] = (await ds.query(
      `UPDATE upload_pipeline.documents d SET parsed_path = 'parsed' FROM upload_pipeline.upload_jobs j
       WHERE j.job_id = $1 AND d.document_id = j.document_id RETURNING d.document_id`,
      [jobId],
    )) as [{ document_id: string }[], number];
    return { jobId, document: await ds.getRepository(DocumentEntity).findOneByOrFail({ documentId: document_id }) };
  }

  /**
   * The stage run on `markdown` and its result applied as the runner applies a stage with a write (null: the transition
   * did not apply). By default in a claim that took the job over from an expired lease, where the rows are buffered.
   */
  async function chunk(
    jobId: string,
    document: DocumentEntity,
    markdown: string,
    workerId = WORKER,
    scratch: ClaimScratch = { takenOver: true },
  ): Promise<AppliedTransition[] | null> {
    scratch.markdown = markdown;
    const ctx = ctxOf(jobId, document, scratch, workerId);
    const result = await handler.run(ctx);
    if (result.type !== 'advance' || !result.write) throw new Error('chunking must write with its transition');
    const { applied, report } = await transitions.transition(jobId, { stage: 'chunking', state: 'working' }, [{ type: 'advance', chain: true }], {
      workerId,
      leaseMs: 60_000,
      detail: result.detail,
      progress: result.progress,
      write: result.write,
    });
    if (applied && report) handler.committed(ctx, result, report);
    return applied;
  }

  /** What a handler gets, for the job `jobId` in `workerId`'s hands. */
  const ctxOf = (jobId: string, document: DocumentEntity, scratch: ClaimScratch, workerId = WORKER) =>
    ({ job: { jobId } as UploadJobEntity, workerId, document, scratch }) as JobContext;

  const buffered = async (documentId: string) =>
    (await ds.query(`SELECT ord, xmin::text AS tx FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1 ORDER BY ord`, [
      documentId,
    ])) as { ord: number; tx: string }[];

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    dir = mkdtempSync(join(tmpdir(), 'chunk-handler-'));
    transitions = new JobTransitionsService(ds);
    uploads = new UploadsService(ds);
    const opts = testPipelineOptions(WORKER, 60_000, { chunker: { name: 'md-token', version: 1, maxTokens: 24, overlapTokens: 0 } });
    pool = new ChunkingPool(opts);
    handler = new ChunkHandler(
      new JobStore(ds),
      new LocalStorageDriver({ root: dir, signingSecret: 'chunk-test-signing-secret', publicBaseUrl: 'http://127.0.0.1:1' }),
      { maxInputTokens: 8191 } as Embedder,
      opts,
      pool,
    );
  });
  afterAll(async () => {
    await pool?.onModuleDestroy();
    await ds?.destroy();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh claim, a document of one slice: writes nothing, hands the chunks over for finalize\'s statement', async () => {
    const { jobId, document } = await atChunking();
    const scratch: ClaimScratch = { markdown: sections(3) };
    const result = await handler.run(ctxOf(jobId, document, scratch));
    expect(handler.commitsWithNext).toBe(true);
    expect(result).toEqual({
      type: 'advance',
      progress: { chunks_total: 3, chunks_embedded: 0, tokens_total: expect.any(Number) },
      detail: { chunks: 3, tokens: expect.any(Number) },
    });
    expect(scratch.pendingChunks?.map((c) => c.ord)).toEqual([0, 1, 2]);
    expect(scratch.chunks).toEqual(scratch.pendingChunks?.map((c) => ({ id: c.chunkId, text: c.text, tokens: c.tokenCount })));
    expect(scratch.markdown).toBeUndefined();
    expect(await buffered(document.documentId)).toEqual([]);
  });

  it('writeHandedOver puts the handed-over chunks into the buffer, once, and they are no longer pending', async () => {
    const { jobId, document } = await atChunking();
    const scratch: ClaimScratch = { markdown: sections(3) };
    await handler.run(ctxOf(jobId, document, scratch));
    const pending = scratch.pendingChunks;
    // a worker that no longer holds the job writes nothing
    await handler.writeHandedOver(ctxOf(jobId, document, { ...scratch }, 'another-worker'));
    expect(await buffered(document.documentId)).toEqual([]);
    await handler.writeHandedOver(ctxOf(jobId, document, scratch));
    expect(scratch.pendingChunks).toBeUndefined();
    await handler.writeHandedOver(ctxOf(jobId, document, scratch)); // nothing pending: no statement
    const rows = (await ds.query(
      `SELECT chunk_id, ord, text, meta FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1 ORDER BY ord`,
      [document.documentId],
    )) as { chunk_id: string; ord: number; text: string; meta: unknown }[];
    expect(rows).toEqual(pending?.map((c) => ({ chunk_id: c.chunkId, ord: c.ord, text: c.text, meta: c.meta })));
  });

  it('a claim that took the job over writes the chunk rows in the transition statement: one commit for both, and hands them to embedding', async () => {
    const { jobId, document } = await atChunking();
    const scratch: ClaimScratch = { takenOver: true };
    const applied = await chunk(jobId, document, sections(3), WORKER, scratch);
    expect(applied?.map((t) => t.to)).toEqual([{ stage: 'chunks_stored', state: 'working' }]);
    const rows = await buffered(document.documentId);
    expect(rows.map((r) => r.ord)).toEqual([0, 1, 2]);
    const [event] = (await ds.query(
      `SELECT xmin::text AS tx, detail FROM upload_pipeline.events WHERE job_id = $1 AND from_stage = 'chunking'`,
      [jobId],
    )) as { tx: string; detail: { chunks: number } }[];
    expect(new Set([event.tx, ...rows.map((r) => r.tx)]).size).toBe(1);
    expect(event.detail).toMatchObject({ chunks: 3 });
    // the buffer is exactly these chunks, as embedding would read them back
    const stored = (await ds.query(
      `SELECT chunk_id AS id, text, token_count AS tokens FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1 ORDER BY ord`,
      [document.documentId],
    )) as { id: string; text: string; tokens: number }[];
    expect(scratch.chunks).toEqual(stored);
    expect(scratch.markdown).toBeUndefined();
  });

  it('hands no chunks to embedding when the buffer held rows before (an earlier attempt\'s): embedding reads the buffer', async () => {
    const { jobId, document } = await atChunking();
    await ds.query(
      `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
       VALUES (gen_random_uuid(), $1, 'md-token', 0, 0, 'stale', repeat('0', 64), 1)`,
      [document.documentId],
    );
    const scratch: ClaimScratch = { takenOver: true, chunks: [{ id: 'from-before', text: 'x', tokens: 1 }] };
    expect(await chunk(jobId, document, sections(3), WORKER, scratch)).not.toBeNull();
    expect((await buffered(document.documentId)).length).toBe(4);
    expect(scratch.chunks).toBeUndefined();
  });

  it('writes no chunk when the transition does not apply (the job is not this worker\'s)', async () => {
    const { jobId, document } = await atChunking();
    const scratch: ClaimScratch = { takenOver: true };
    expect(await chunk(jobId, document, sections(3), 'another-worker', scratch)).toBeNull();
    expect(await buffered(document.documentId)).toEqual([]);
    expect(scratch.chunks).toBeUndefined();
  });

  it('chunks in the worker-thread pool: a document over its time budget fails for good (too_complex), nothing written', async () => {
    const { document } = await atChunking();
    const opts = testPipelineOptions(WORKER, 60_000, { chunkTimeoutMs: 100 });
    const slow = new ChunkingPool(opts);
    try {
      await slow.warmUp();
      const h = new ChunkHandler(new JobStore(ds), null as never, { maxInputTokens: 8191 } as Embedder, opts, slow);
      const err = await h.run({ document, scratch: { markdown: sections(40_000) } } as unknown as JobContext).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'permanent', code: 'too_complex' });
      expect(await buffered(document.documentId)).toEqual([]);
    } finally {
      await slow.onModuleDestroy();
    }
  }, 60_000);

  it('a document of more than one slice: the earlier slices before, the last with the transition, none twice on a re-run', async () => {
    const { jobId, document } = await atChunking();
    // 1,203 chunks: slices of 500, 500 and 203. A worker that does not hold the job writes none of them.
    const scratch: ClaimScratch = {};
    expect(await chunk(jobId, document, sections(1203), 'another-worker', scratch)).toBeNull();
    expect(scratch.chunks).toBeUndefined();
    expect(await buffered(document.documentId)).toEqual([]);
    // the job's own worker writes the earlier slices, then crashes before its transition
    await handler.run(ctxOf(jobId, document, { markdown: sections(1203) }));
    let rows = await buffered(document.documentId);
    expect(rows.map((r) => r.ord)).toEqual(Array.from({ length: 1000 }, (_, i) => i));

    // the re-run (the job's own worker) writes the rest with its transition
    expect(await chunk(jobId, document, sections(1203), WORKER, scratch)).not.toBeNull();
    expect(scratch.chunks).toBeUndefined(); // not all of them in the one statement: embedding reads the buffer
    rows = await buffered(document.documentId);
    expect(rows.map((r) => r.ord)).toEqual(Array.from({ length: 1203 }, (_, i) => i));
    const [event] = (await ds.query(`SELECT xmin::text AS tx FROM upload_pipeline.events WHERE job_id = $1 AND from_stage = 'chunking'`, [
      jobId,
    ])) as { tx: string }[];
    expect(rows.filter((r) => r.tx === event.tx).map((r) => r.ord)).toEqual(Array.from({ length: 203 }, (_, i) => 1000 + i));
  });

  it('puts each chunk\'s pages into its meta: from the page markers, or page 1 of a one-page document without them', async () => {
    const { jobId, document } = await atChunking();
    const md = `${sections(1)}\n\n<!-- page 2 -->\n\n${sections(2)}\n\n<!-- page 3 -->\n\n## Last\n\nOn the third page.`;
    expect(await chunk(jobId, document, md)).not.toBeNull();
    const rows = (await ds.query(
      `SELECT text, meta FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1 ORDER BY ord`,
      [document.documentId],
    )) as { text: string; meta: { heading_path: string[]; page_start?: number; page_end?: number } }[];
    expect(rows.map((r) => [r.meta.page_start, r.meta.page_end])).toEqual([
      [1, 1],
      [2, 2],
      [2, 2],
      [3, 3],
    ]);
    expect(rows.every((r) => !r.text.includes('<!--'))).toBe(true);
    expect(rows[3].meta.heading_path).toEqual(['Last']);

    const one = await atChunking();
    await chunk(one.jobId, Object.assign(one.document, { pageCount: 1 }), sections(2));
    const oneRows = (await ds.query(`SELECT meta FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1 ORDER BY ord`, [
      one.document.documentId,
    ])) as { meta: Record<string, unknown> }[];
    expect(oneRows.map((r) => r.meta)).toEqual([
      { heading_path: ['Section 0'], page_start: 1, page_end: 1 },
      { heading_path: ['Section 1'], page_start: 1, page_end: 1 },
    ]);

    const unknown = await atChunking(); // no markers, page count unknown (or several pages): no pages
    await chunk(unknown.jobId, unknown.document, sections(1));
    const [unknownRow] = (await ds.query(`SELECT meta FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1`, [
      unknown.document.documentId,
    ])) as { meta: Record<string, unknown> }[];
    expect(unknownRow.meta).toEqual({ heading_path: ['Section 0'] });
  });
});
