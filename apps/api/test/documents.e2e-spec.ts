import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { STORAGE, StorageDriver, storageKey } from '@app/storage';
import { registerEmbeddingModel } from '@app/testing';
import { ApiHarness, pathOf, startApi } from './api-harness';

const MD = 'text/markdown';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every table that holds rows of a document, and the column that finds them. */
const TABLES: [table: string, column: string, key: 'documentId' | 'jobId'][] = [
  ['documents', 'document_id', 'documentId'],
  ['upload_jobs', 'document_id', 'documentId'],
  ['events', 'document_id', 'documentId'],
  ['document_chunk_buffer', 'document_id', 'documentId'],
  ['document_vector_buffer', 'document_id', 'documentId'],
  ['document_chunks', 'document_id', 'documentId'],
  ['webhook_log', 'job_id', 'jobId'],
];

describe('api: documents (e2e, real PostgreSQL and local storage)', () => {
  let h: ApiHarness;
  let http: App;
  let ds: DataSource;
  let storage: StorageDriver;

  beforeAll(async () => {
    h = await startApi();
    http = h.app.getHttpServer() as App;
    ds = h.app.get(DataSource);
    storage = h.app.get<StorageDriver>(STORAGE);
  });
  afterAll(async () => {
    await h?.close();
  });

  const as = (user: string) => ({
    get: (path: string) => request(http).get(path).set('Authorization', `Bearer ${h.token(user)}`),
    del: (path: string) => request(http).delete(path).set('Authorization', `Bearer ${h.token(user)}`),
  });

  /** POST /upload and (unless `put` is false) PUT the bytes, as a client does. */
  async function upload(user: string, text = `# Note ${randomUUID()}\n\nSome text.\n`, put = true) {
    const bytes = Buffer.from(text);
    const r = await request(http)
      .post('/api/v2/upload')
      .set('Authorization', `Bearer ${h.token(user)}`)
      .send({ filename: 'note.md', bytes_len: bytes.length, mime: MD, sha256: sha(bytes) })
      .expect(201);
    if (put) await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', MD).send(bytes).expect(200);
    return { jobId: r.body.job_id as string, documentId: r.body.document_id as string };
  }

  /** What the worker leaves behind for a processed document: parsed text, buffers, chunks, a webhook. */
  async function derive(user: string, d: { jobId: string; documentId: string }) {
    const parsed = storageKey.parsed(user, d.documentId);
    await storage.putObject(parsed, Buffer.from('# parsed'));
    const chunkId = randomUUID();
    await ds.query(
      `UPDATE upload_pipeline.documents SET parsed_path = $2, page_count = 3, chunk_count = 1 WHERE document_id = $1`,
      [d.documentId, parsed],
    );
    await ds.query(
      `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
       VALUES ($1, $2, 'md-token', 1, 0, 'parsed', $3, 2)`,
      [chunkId, d.documentId, sha('parsed')],
    );
    await ds.query(
      `INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
       VALUES ($1, 'text-embedding-3-small', 1, $2, '{1,0}')`,
      [chunkId, d.documentId],
    );
    await registerEmbeddingModel(ds, 'text-embedding-3-small', 1, 2);
    await ds.query(
      `INSERT INTO upload_pipeline.document_chunks
         (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count, embed_model, embed_version, embedding)
       VALUES ($1, $2, $3, 'md-token', 1, 0, 'parsed', $4, 2, 'text-embedding-3-small', 1, '{1,0}')`,
      [chunkId, d.documentId, user, sha('parsed')],
    );
    await ds.query(
      `INSERT INTO upload_pipeline.webhook_log (job_id, source, body_sha256, parser_job_id, status) VALUES ($1, 'llamaparse', $2, 'p1', 'SUCCESS')`,
      [d.jobId, sha(d.jobId)],
    );
  }

  const rowCounts = async (d: { jobId: string; documentId: string }) => {
    const out: Record<string, number> = {};
    for (const [table, column, key] of TABLES) {
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.${table} WHERE ${column} = $1`, [d[key]]);
      out[table] = n;
    }
    return out;
  };
  const filesUnder = (user: string, documentId: string) => {
    const dir = join(h.storageRoot, storageKey.documentPrefix(user, documentId));
    return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
  };

  describe('GET /api/v2/documents/:id', () => {
    it('shows the document with its job (stage, state, progress, last_error) and the events', async () => {
      const user = randomUUID();
      const d = await upload(user);
      const r = await as(user).get(`/api/v2/documents/${d.documentId}`).expect(200);
      expect(r.body).toMatchObject({
        document_id: d.documentId,
        filename: 'note.md',
        mime: MD,
        processing_status: 'processing',
        page_count: null,
        chunk_count: null,
        job: { job_id: d.jobId, stage: 'job_validated', state: 'queued', last_error: null, progress: { percent: expect.any(Number) } },
      });
      expect(r.body.bytes_len).toBeGreaterThan(0);
      expect(r.body.job.events.map((e: { type: string; stage: string }) => [e.type, e.stage])).toEqual([
        ['stage_started', 'uploaded'],
        ['stage_done', 'job_validated'],
      ]);
      expect(r.body).not.toHaveProperty('raw_path');

      const err = { kind: 'permanent', code: 'unparseable', message: 'not a document', stage: 'parsing', at: new Date().toISOString() };
      await ds.query(
        `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'deadletter', last_error = $2::jsonb WHERE job_id = $1`,
        [d.jobId, JSON.stringify(err)],
      );
      await derive(user, d);
      const again = await as(user).get(`/api/v2/documents/${d.documentId}`).expect(200);
      expect(again.body).toMatchObject({ page_count: 3, chunk_count: 1, job: { stage: 'parsing', state: 'deadletter', last_error: err } });
    });

    it("is 404 for another user's document, an unknown id and a malformed id", async () => {
      const owner = randomUUID();
      const d = await upload(owner);
      for (const path of [`/api/v2/documents/${d.documentId}`, `/api/v2/documents/${randomUUID()}`, '/api/v2/documents/nope']) {
        const r = await as(randomUUID()).get(path).expect(404);
        expect(r.body.error.code).toBe('not_found');
      }
      await request(http).get(`/api/v2/documents/${d.documentId}`).expect(401);
    });
  });

  describe('GET /api/v2/documents', () => {
    it('pages newest first without gaps or repeats; only the caller’s documents', async () => {
      const user = randomUUID();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await upload(user)).documentId);
      await upload(randomUUID());
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r: request.Response = await as(user).get(`/api/v2/documents?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        expect(r.body.items.length).toBeLessThanOrEqual(2);
        for (const item of r.body.items) {
          expect(item.job).toMatchObject({ stage: 'job_validated', state: 'queued' });
          expect(item.job).not.toHaveProperty('events');
        }
        seen.push(...r.body.items.map((x: { document_id: string }) => x.document_id));
        cursor = r.body.next_cursor;
        if (!cursor) break;
      }
      expect(seen).toEqual([...ids].reverse());
      expect((await as(randomUUID()).get('/api/v2/documents').expect(200)).body).toEqual({ items: [], next_cursor: null });
    });

    it('refuses bad cursors and limits, and the jobs list’s cursors', async () => {
      const user = randomUUID();
      await upload(user);
      await upload(user);
      const jobs = await as(user).get('/api/v2/jobs?limit=1').expect(200);
      for (const q of ['cursor=garbage', `cursor=${jobs.body.next_cursor}`, 'limit=0', 'limit=101', 'limit=x']) {
        const r = await as(user).get(`/api/v2/documents?${q}`).expect(400);
        expect(r.body.error.code).toBe('validation_failed');
      }
    });

    it('goes on paging after the document the cursor names was deleted (documents and jobs lists)', async () => {
      const user = randomUUID();
      const docs = [];
      for (let i = 0; i < 4; i++) docs.push(await upload(user));
      const newestFirst = [...docs].reverse();
      const p1 = await as(user).get('/api/v2/documents?limit=2').expect(200);
      const j1 = await as(user).get('/api/v2/jobs?limit=2').expect(200);
      await as(user).del(`/api/v2/documents/${newestFirst[1].documentId}`).expect(204);
      const p2 = await as(user).get(`/api/v2/documents?limit=2&cursor=${p1.body.next_cursor}`).expect(200);
      expect(p2.body.items.map((x: { document_id: string }) => x.document_id)).toEqual([newestFirst[2].documentId, newestFirst[3].documentId]);
      const j2 = await as(user).get(`/api/v2/jobs?limit=2&cursor=${j1.body.next_cursor}`).expect(200);
      expect(j2.body.items.map((x: { job_id: string }) => x.job_id)).toEqual([newestFirst[2].jobId, newestFirst[3].jobId]);
    });
  });

  describe('DELETE /api/v2/documents/:id', () => {
    it('removes the document, everything derived from it and its stored files; a second delete is 404', async () => {
      const user = randomUUID();
      const d = await upload(user);
      const sibling = await upload(user);
      await derive(user, d);
      await derive(user, sibling);
      expect(Object.values(await rowCounts(d)).every((n) => n > 0)).toBe(true);
      expect(filesUnder(user, d.documentId).sort()).toEqual(['parsed.md', 'raw']);

      await as(user).del(`/api/v2/documents/${d.documentId}`).expect(204);
      expect(await rowCounts(d)).toEqual(Object.fromEntries(TABLES.map(([t]) => [t, 0])));
      expect(filesUnder(user, d.documentId)).toEqual([]);
      // the user's other document is untouched
      expect(Object.values(await rowCounts(sibling)).every((n) => n > 0)).toBe(true);
      expect(filesUnder(user, sibling.documentId).sort()).toEqual(['parsed.md', 'raw']);

      expect((await as(user).del(`/api/v2/documents/${d.documentId}`).expect(404)).body.error.code).toBe('not_found');
      await as(user).get(`/api/v2/documents/${d.documentId}`).expect(404);
      await as(user).get(`/api/v2/jobs/${d.jobId}`).expect(404);
    });

    it("is 404 for another user's document and deletes nothing", async () => {
      const owner = randomUUID();
      const d = await upload(owner);
      await as(randomUUID()).del(`/api/v2/documents/${d.documentId}`).expect(404);
      await as(randomUUID()).del('/api/v2/documents/not-a-uuid').expect(404);
      expect((await rowCounts(d))['documents']).toBe(1);
      expect(filesUnder(owner, d.documentId)).toEqual(['raw']);
      await request(http).delete(`/api/v2/documents/${d.documentId}`).expect(401);
    });

    it('deletes a document whose bytes never arrived; the signed URL then finds nothing', async () => {
      const user = randomUUID();
      const bytes = Buffer.from('# never uploaded\n');
      const r = await request(http)
        .post('/api/v2/upload')
        .set('Authorization', `Bearer ${h.token(user)}`)
        .send({ filename: 'late.md', bytes_len: bytes.length, mime: MD, sha256: sha(bytes) })
        .expect(201);
      await as(user).del(`/api/v2/documents/${r.body.document_id}`).expect(204);
      await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', MD).send(bytes).expect(404);
      expect(filesUnder(user, r.body.document_id)).toEqual([]);
    });
  });
});
