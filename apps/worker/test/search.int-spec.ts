import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchResponse } from '@app/search';
import { embedderRequestsReceived, Stack, startStack, uploadDocument, waitForJobs } from './stack';

const BIRDS = `# Birds of prey

## The kestrel

The common kestrel hunts by hovering: it hangs in the wind over a meadow, head perfectly still, and
watches the grass for voles. When it sees one it drops in steps and strikes with its talons.

## Falcons

The peregrine falcon stoops on other birds from great height, reaching speeds above 300 km/h.
`;

const BREAD = `# Sourdough bread

## The starter

A sourdough starter is a culture of wild yeast and lactic acid bacteria kept alive with flour and water.
Feed it daily; it is ready when it doubles within a few hours of a feeding.

## Baking

Bake the loaf in a preheated Dutch oven so the steam gives the crust its blisters and its crackle.
`;

/**
 * Search over the real stack: documents uploaded through the api, parsed, chunked and embedded by the
 * worker with the mock embedder, searched through the api (which embeds the query with the same mock).
 * This database has no pgvector: the real[] storage with exact cosine in SQL.
 */
describe('search and document deletion on the real stack', () => {
  let stack: Stack;
  const alice = randomUUID();
  const bob = randomUUID();
  let birds: { jobId: string; documentId: string };
  let bread: { jobId: string; documentId: string };
  let bobsBirds: { jobId: string; documentId: string };

  const api = async (method: string, path: string, user: string, body?: unknown) => {
    const r = await fetch(`${stack.api.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${stack.token(user)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  const search = async (user: string, query: string, extra: object = {}) => {
    const r = await api('POST', '/api/v2/search', user, { query, ...extra });
    expect(r.status).toBe(200);
    return r.body as unknown as SearchResponse;
  };
  const rows = async (documentId: string) => {
    const [r] = await stack.sql<{ docs: number; jobs: number; events: number; chunks: number }>(
      `SELECT (SELECT count(*)::int FROM upload_pipeline.documents WHERE document_id = $1) AS docs,
              (SELECT count(*)::int FROM upload_pipeline.upload_jobs WHERE document_id = $1) AS jobs,
              (SELECT count(*)::int FROM upload_pipeline.events WHERE document_id = $1) AS events,
              (SELECT count(*)::int FROM upload_pipeline.document_chunks WHERE document_id = $1) AS chunks`,
      [documentId],
    );
    return r;
  };
  const files = (user: string, documentId: string) => {
    const dir = join(stack.storageRoot, 'users', user, 'documents', documentId);
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  };

  beforeAll(async () => {
    stack = await startStack();
    birds = await uploadDocument(stack, stack.token(alice), 'birds.md', 'text/markdown', Buffer.from(BIRDS));
    bread = await uploadDocument(stack, stack.token(alice), 'bread.md', 'text/markdown', Buffer.from(BREAD));
    bobsBirds = await uploadDocument(stack, stack.token(bob), 'birds.md', 'text/markdown', Buffer.from(BIRDS));
    const done = await waitForJobs(stack, [birds.jobId, bread.jobId, bobsBirds.jobId], 60_000);
    for (const j of done) expect(j).toMatchObject({ stage: 'complete', state: 'done' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("finds the chunk that answers the question, only among the caller's own documents", async () => {
    for (const mode of ['vector', 'hybrid']) {
      const r = await search(alice, 'How does the kestrel hunt voles by hovering over a meadow?', { mode });
      expect(r.model).toBe('text-embedding-3-small');
      expect(r.results[0]).toMatchObject({ document_id: birds.documentId, filename: 'birds.md' });
      expect(r.results[0].text).toContain('hovering');
      expect(r.results.every((x) => x.document_id !== bobsBirds.documentId)).toBe(true);
      for (let i = 1; i < r.results.length; i++) expect(r.results[i - 1].score).toBeGreaterThanOrEqual(r.results[i].score);
    }
    const baking = await search(alice, 'How do I keep a sourdough starter alive and bake a loaf?');
    expect(baking.results[0].document_id).toBe(bread.documentId);

    // Bob has the same text in his own document: he finds his, never Alice's
    const his = await search(bob, 'How does the kestrel hunt voles by hovering over a meadow?');
    expect(his.results.length).toBeGreaterThan(0);
    expect(his.results.every((x) => x.document_id === bobsBirds.documentId)).toBe(true);
    expect((await search(randomUUID(), 'kestrel')).results).toEqual([]);
  });

  it('shows a finished document with its chunk count and job', async () => {
    const r = await api('GET', `/api/v2/documents/${birds.documentId}`, alice);
    expect(r.status).toBe(200);
    const [{ chunks }] = await stack.sql<{ chunks: number }>(
      `SELECT count(*)::int AS chunks FROM upload_pipeline.document_chunks WHERE document_id = $1`,
      [birds.documentId],
    );
    expect(r.body).toMatchObject({ processing_status: 'complete', chunk_count: chunks, job: { stage: 'complete', state: 'done' } });
    expect((await api('GET', `/api/v2/documents/${birds.documentId}`, bob)).status).toBe(404);
  });

  it('DELETE removes the document from search, its rows and its files', async () => {
    expect(files(alice, birds.documentId)).toEqual(['parsed.md', 'raw']);
    expect((await api('DELETE', `/api/v2/documents/${birds.documentId}`, bob)).status).toBe(404);
    expect((await api('DELETE', `/api/v2/documents/${birds.documentId}`, alice)).status).toBe(204);

    const after = await search(alice, 'How does the kestrel hunt voles by hovering over a meadow?');
    expect(after.results.length).toBeGreaterThan(0);
    expect(after.results.every((x) => x.document_id === bread.documentId)).toBe(true);
    expect(await rows(birds.documentId)).toEqual({ docs: 0, jobs: 0, events: 0, chunks: 0 });
    expect(files(alice, birds.documentId)).toEqual([]);
    // the same text of another user is untouched
    expect((await rows(bobsBirds.documentId)).chunks).toBeGreaterThan(0);
    expect(files(bob, bobsBirds.documentId)).toEqual(['parsed.md', 'raw']);
    expect((await api('DELETE', `/api/v2/documents/${birds.documentId}`, alice)).status).toBe(404);
  });

  it('a delete while the worker embeds the document stops the job cleanly, without retries', async () => {
    const setEmbedderLatency = (latencyMs: number) =>
      fetch(`${stack.embedder.url}/_mock/config`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ latencyMs }) });
    await setEmbedderLatency(1500);
    let doomed: { jobId: string; documentId: string };
    try {
      const embeds = await embedderRequestsReceived(stack.embedder);
      doomed = await uploadDocument(stack, stack.token(alice), 'doomed.md', 'text/markdown', Buffer.from(`# Doomed\n\n${BIRDS}`));
      // wait until the worker is inside the embedding call (the embedder has the request; the job's row still says the
      // stage its claim started at: every transition since waits for finalize's statement)
      const until = Date.now() + 20_000;
      for (;;) {
        const [j] = await stack.sql<{ stage: string; state: string }>(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [doomed.jobId]);
        if (j?.state === 'working' && (await embedderRequestsReceived(stack.embedder)) > embeds) break;
        if (Date.now() > until) throw new Error(`job never reached embedding: ${JSON.stringify(j)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await api('DELETE', `/api/v2/documents/${doomed.documentId}`, alice)).status).toBe(204);
      // the worker's embedding call returns, its write finds the document gone; wait until it let go
      const idle = Date.now() + 20_000;
      for (;;) {
        const ready = (await (await fetch(`${stack.workers[0].url}/health/ready`)).json()) as { info?: { worker_loop?: { in_flight?: number } } };
        if (ready.info?.worker_loop?.in_flight === 0) break;
        if (Date.now() > idle) throw new Error(`worker still busy: ${JSON.stringify(ready)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await setEmbedderLatency(0);
    }
    expect(await rows(doomed.documentId)).toEqual({ docs: 0, jobs: 0, events: 0, chunks: 0 });
    const [{ buffers }] = await stack.sql<{ buffers: number }>(
      `SELECT (SELECT count(*)::int FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1)
            + (SELECT count(*)::int FROM upload_pipeline.document_vector_buffer WHERE document_id = $1) AS buffers`,
      [doomed.documentId],
    );
    expect(buffers).toBe(0);
    expect(files(alice, doomed.documentId)).toEqual([]);
    // nothing was scheduled for a retry or dead-lettered: the worker logged no warning about the job
    const log = readFileSync(join(stack.logDir, 'worker-1.log'), 'utf8');
    const warnings = log.split('\n').filter((l) => l.includes(doomed.jobId) && /"level":(40|50|"warn"|"error")/.test(l));
    expect(warnings).toEqual([]);

    // and the worker goes on with the next document
    const next = await uploadDocument(stack, stack.token(alice), 'next.md', 'text/markdown', Buffer.from(`# Next\n\n${BREAD}`));
    const [row] = await waitForJobs(stack, [next.jobId], 30_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done' });
  });
});
