import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { registerEmbeddingModel } from '@app/testing';
import { ApiHarness, startApi } from './api-harness';
import { FakeOpenAi, openAiError, startFakeOpenAi } from './fake-openai';

const MODEL = 'test-model';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return dot / (norm(a) * norm(b));
}

interface Chunk {
  id: string;
  doc: string;
  ord: number;
  text: string;
  v: number[];
}

/**
 * POST /api/v2/search on the real PostgreSQL (real[] embeddings: exact cosine in SQL), with chunks of
 * known vectors inserted in SQL and an embeddings endpoint that returns the query vectors the test chose.
 */
describe('api: search (e2e)', () => {
  let h: ApiHarness;
  let http: App;
  let fake: FakeOpenAi;
  let ds: DataSource;
  const alice = randomUUID();
  const bob = randomUUID();
  const birds = randomUUID();
  const engines = randomUUID();
  const bobs = randomUUID();
  const chunks: Record<string, Chunk> = {};

  const insertDoc = (id: string, user: string, filename: string) =>
    ds.query(
      `INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path, processing_status)
       VALUES ($1, $2, $3, 'text/markdown', 100, $4, $5, 'complete')`,
      [id, user, filename, sha(id), `users/${user}/documents/${id}/raw`],
    );
  const insertChunk = async (name: string, doc: string, user: string, ord: number, text: string, v: number[], model = MODEL, version = 1) => {
    const id = randomUUID();
    await registerEmbeddingModel(ds, model, version, v.length);
    await ds.query(
      `INSERT INTO upload_pipeline.document_chunks
         (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count, embed_model, embed_version, embedding)
       VALUES ($1, $2, $3, 'md-token', 1, $4, $5, $6, 8, $7, $8, $9::real[])`,
      [id, doc, user, ord, text, sha(text), model, version, v],
    );
    chunks[name] = { id, doc, ord, text, v };
  };

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    // fatal: the embedder failures below are logged as 5xx errors otherwise
    h = await startApi({ OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: 'test-key', EMBEDDING_MODEL: MODEL, EMBEDDING_DIMENSIONS: '4', LOG_LEVEL: 'fatal' });
    http = h.app.getHttpServer() as App;
    ds = h.app.get(DataSource);
    await registerEmbeddingModel(ds, MODEL, 1, 4); // the configured model is the active one
    await insertDoc(birds, alice, 'birds.md');
    await insertDoc(engines, alice, 'engines.md');
    await insertDoc(bobs, bob, 'bob.md');
    // not normalised on purpose: by dot product `swallow` would win, by cosine `kestrel` does
    await insertChunk('kestrel', birds, alice, 0, 'The kestrel hovers over the meadow before it dives.', [0.9, 0.1, 0, 0]);
    await insertChunk('swallow', birds, alice, 1, 'Swallows migrate south in autumn.', [5, 5, 0, 0]);
    await insertChunk('diesel', engines, alice, 0, 'A diesel engine compresses air until the fuel ignites.', [0, 0, 3, 0]);
    await insertChunk('turbo', engines, alice, 1, 'Turbochargers use exhaust gas to drive a compressor.', [-1, 0.5, 0, 0]);
    await insertChunk('old-model', birds, alice, 2, 'Embedded by an older model.', [1, 0, 0, 0], 'old-model');
    await insertChunk('old-version', birds, alice, 3, 'Embedded by an older version.', [1, 0, 0, 0], MODEL, 2);
    await insertChunk('bob', bobs, bob, 0, "Bob's diesel engine of his boat.", [1, 0, 0, 0]);
    fake.vectors.set('birds of prey hovering', [2, 0, 0, 0]);
    fake.vectors.set('diesel engine', [1, 0.2, 0, 0]);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const search = (body: object, user = alice) =>
    request(http).post('/api/v2/search').set('Authorization', `Bearer ${h.token(user)}`).send(body);

  /** [name, cosine] of the given chunks for a query vector, best first. */
  const ranked = (q: number[], names: string[]) =>
    names.map((n) => [n, cosine(chunks[n].v, q)] as const).sort((a, b) => b[1] - a[1]);

  const expectResults = (results: { chunk_id: string; score: number }[], want: (readonly [string, number])[]) => {
    expect(results.map((r) => r.chunk_id)).toEqual(want.map(([n]) => chunks[n].id));
    results.forEach((r, i) => expect(r.score).toBeCloseTo(want[i][1], 5));
  };

  it("ranks the caller's chunks of the current model by cosine similarity", async () => {
    const r = await search({ query: 'birds of prey hovering' }).expect(200);
    expect(r.body.model).toBe(MODEL);
    expectResults(r.body.results, ranked([2, 0, 0, 0], ['kestrel', 'swallow', 'diesel', 'turbo']));
    expect(r.body.results[0]).toEqual({
      chunk_id: chunks['kestrel'].id,
      document_id: birds,
      filename: 'birds.md',
      ord: 0,
      text: chunks['kestrel'].text,
      score: expect.any(Number),
      // chunks written without page markers: their pages are unknown
      page_start: null,
      page_end: null,
    });
    expect(fake.calls.at(-1)).toEqual(['birds of prey hovering']);
  });

  it('honours top_k and document_ids', async () => {
    const top = await search({ query: 'birds of prey hovering', top_k: 2 }).expect(200);
    expectResults(top.body.results, ranked([2, 0, 0, 0], ['kestrel', 'swallow', 'diesel', 'turbo']).slice(0, 2));
    const one = await search({ query: 'birds of prey hovering', document_ids: [engines] }).expect(200);
    expectResults(one.body.results, ranked([2, 0, 0, 0], ['diesel', 'turbo']));
  });

  it("never returns another user's chunks, even when asked for their document", async () => {
    const mine = await search({ query: 'birds of prey hovering', document_ids: [bobs] }).expect(200);
    expect(mine.body.results).toEqual([]);
    const his = await search({ query: 'birds of prey hovering' }, bob).expect(200);
    expectResults(his.body.results, [['bob', 1]]);
    expect(await search({ query: 'birds of prey hovering' }, randomUUID()).expect(200)).toHaveProperty('body.results', []);
  });

  it('hybrid: fuses the vector ranking with full text (reciprocal rank fusion, k = 60)', async () => {
    const q = [1, 0.2, 0, 0];
    const vec = await search({ query: 'diesel engine' }).expect(200);
    const byVector = ranked(q, ['kestrel', 'swallow', 'diesel', 'turbo']);
    expectResults(vec.body.results, byVector);
    expect(vec.body.results[0].chunk_id).not.toBe(chunks['diesel'].id);

    const hybrid = await search({ query: 'diesel engine', mode: 'hybrid' }).expect(200);
    // only `diesel` matches the words (full-text rank 1); everyone gets 1 / (60 + vector rank)
    const want = byVector
      .map(([n], i) => [n, 1 / (60 + i + 1) + (n === 'diesel' ? 1 / 61 : 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    expect(want[0][0]).toBe('diesel');
    expectResults(hybrid.body.results, want);
  });

  it('validates the request (400 with the fields) without calling the embedder', async () => {
    const before = fake.calls.length;
    const cases: [object, string][] = [
      [{}, 'query'],
      [{ query: '' }, 'query'],
      [{ query: '  \n ' }, 'query'],
      [{ query: 'x'.repeat(2001) }, 'query'],
      [{ query: 42 }, 'query'],
      [{ query: 'q', top_k: 0 }, 'top_k'],
      [{ query: 'q', top_k: 51 }, 'top_k'],
      [{ query: 'q', top_k: 2.5 }, 'top_k'],
      [{ query: 'q', top_k: '10' }, 'top_k'],
      [{ query: 'q', document_ids: 'abc' }, 'document_ids'],
      [{ query: 'q', document_ids: [] }, 'document_ids'],
      [{ query: 'q', document_ids: ['not-a-uuid'] }, 'document_ids'],
      [{ query: 'q', document_ids: Array.from({ length: 101 }, () => randomUUID()) }, 'document_ids'],
      [{ query: 'q', mode: 'semantic' }, 'mode'],
      [{ query: 'q', extra: true }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = await search(body).expect(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect(fake.calls.length).toBe(before);
    await request(http).post('/api/v2/search').send({ query: 'q' }).expect(401);
  });

  describe('when the embedder fails (never a 500)', () => {
    afterEach(() => {
      fake.fail = null;
    });

    it('a refused query is a 400, a broken provider (bad key, quota) a 502', async () => {
      fake.fail = openAiError(400, 'This model does not accept that input', 'invalid_input');
      const bad = await search({ query: 'diesel engine' }).expect(400);
      expect(bad.body.error).toMatchObject({ code: 'query_rejected', details: [{ field: 'query' }] });
      expect(bad.body.error.request_id).toEqual(expect.any(String));

      fake.fail = openAiError(401, 'Incorrect API key provided', 'invalid_api_key');
      const key = await search({ query: 'diesel engine' }).expect(502);
      expect(key.body.error).toMatchObject({ code: 'embedder_error', details: { upstream_code: 'invalid_api_key' } });
      expect(JSON.stringify(key.body)).not.toContain('Incorrect API key');

      fake.fail = openAiError(429, 'You exceeded your current quota', 'insufficient_quota');
      expect((await search({ query: 'diesel engine' }).expect(502)).body.error.code).toBe('embedder_error');
    });

    it('an outage is a 503 embedder_unavailable, with Retry-After when the provider gave one', async () => {
      let before = fake.calls.length;
      fake.fail = openAiError(503, 'The server is overloaded', null);
      const down = await search({ query: 'diesel engine' }).expect(503);
      expect(down.body.error.code).toBe('embedder_unavailable');
      expect(fake.calls.length - before).toBe(2); // one retry, then give up

      before = fake.calls.length;
      fake.fail = openAiError(429, 'Rate limit reached', 'rate_limit_exceeded', { 'retry-after': '7' });
      const limited = await search({ query: 'diesel engine' }).expect(503);
      expect(limited.body.error.code).toBe('embedder_unavailable');
      expect(limited.headers['retry-after']).toBe('7');
      expect(fake.calls.length - before).toBe(1); // a long retry-after is not waited for in the request
    });

    it('the circuit breaker opens after repeated outages and then fails fast', async () => {
      fake.fail = openAiError(500, 'boom', null);
      let opened = false;
      for (let i = 0; i < 6 && !opened; i++) {
        const before = fake.calls.length;
        const r = await search({ query: 'diesel engine' }).expect(503);
        opened = r.body.error.details?.upstream_code === 'breaker_open';
        if (opened) expect(fake.calls.length).toBe(before);
      }
      expect(opened).toBe(true);
    });
  });
});
