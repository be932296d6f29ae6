import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { SearchResponse } from '@app/search';
import { setFaults, Stack, startStack, until, uploadDocument, waitForJobs } from './stack';

const ROOT = resolve(__dirname, '../../..');

const BIRDS = `# Birds of prey

## The kestrel

The common kestrel hunts by hovering: it hangs in the wind over a meadow, head perfectly still, and
watches the grass for voles. When it sees one it drops in steps and strikes with its talons.

## Falcons

The peregrine falcon stoops on other birds from great height, reaching speeds above 300 km/h.
Falconers have flown them for thousands of years, hooded until the moment of release.
`;

const BREAD = `# Sourdough bread

## The starter

A sourdough starter is a culture of wild yeast and lactic acid bacteria kept alive with flour and water.
Feed it daily; it is ready when it doubles within a few hours of a feeding.

## Baking

Bake the loaf in a preheated Dutch oven so the steam gives the crust its blisters and its crackle.
Let it cool for an hour before slicing, or the crumb turns gummy.
`;

const MOON = `# The Moon

## Tides

The Moon's gravity raises two bulges in the oceans, one facing it and one on the far side, so most
coasts see two high tides a day, about fifty minutes later each day.

## Phases

From new moon to full moon and back takes about twenty-nine and a half days.
`;

const TEA = `# Green tea

Brew green tea with water well below boiling, around seventy to eighty degrees, for two or three minutes;
boiling water scalds the leaves and makes the cup bitter.
`;

interface ModelStatus {
  model: string;
  version: number;
  dimensions: number;
  state: 'active' | 'building' | 'retired';
  chunks: number;
  requestedBy: string | null;
}
interface Overview {
  totalChunks: number;
  models: ModelStatus[];
}

/**
 * Re-embedding on the real stack: chunks are embedded again with another model next to the active one
 * (from their stored text: no parsing), search switches over when every chunk has the new vectors, and the
 * old vectors are deleted. Small chunks and small re-embedding batches, so a build takes several rounds.
 */
describe('re-embedding with another model, side by side, on the real stack', () => {
  let stack: Stack;
  const alice = randomUUID();
  const admin = randomUUID();
  const docs: Record<string, { jobId: string; documentId: string }> = {};

  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const r = await fetch(`${stack.api.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  const adminToken = () => stack.token(admin, 'service_role');
  const overview = async () => {
    const r = await api('GET', '/api/v2/embeddings', adminToken());
    expect(r.status).toBe(200);
    return r.body as unknown as Overview;
  };
  const search = async (query: string) => {
    const r = await api('POST', '/api/v2/search', stack.token(alice), { query, top_k: 5 });
    expect(r.status).toBe(200);
    return r.body as unknown as SearchResponse;
  };
  /** Rows per (model, version) in document_chunks, with their vector sizes. */
  const rowsByModel = () =>
    stack.sql<{ embed_model: string; embed_version: number; rows: number; chunks: number; dims: number[] }>(
      `SELECT embed_model, embed_version, count(*)::int AS rows, count(DISTINCT chunk_id)::int AS chunks,
              array_agg(DISTINCT cardinality(embedding)) AS dims
       FROM upload_pipeline.document_chunks GROUP BY 1, 2 ORDER BY 1, 2`,
    );
  const distinctChunks = async () =>
    (await stack.sql<{ n: number }>(`SELECT count(DISTINCT chunk_id)::int AS n FROM upload_pipeline.document_chunks`))[0].n;
  const upload = async (name: string, text: string) => {
    docs[name] = await uploadDocument(stack, stack.token(alice), `${name}.md`, 'text/markdown', Buffer.from(text));
    return docs[name];
  };

  beforeAll(async () => {
    stack = await startStack({ workerEnv: { CHUNK_MAX_TOKENS: '32', REEMBED_BATCH_SIZE: '3', REEMBED_IDLE_MS: '100' } });
    await upload('birds', BIRDS);
    await upload('bread', BREAD);
    const done = await waitForJobs(stack, [docs['birds'].jobId, docs['bread'].jobId], 60_000);
    for (const j of done) expect(j).toMatchObject({ stage: 'complete', state: 'done' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('only a token with the operator role manages models; the configured model is active', async () => {
    expect((await api('GET', '/api/v2/embeddings', stack.token(alice))).status).toBe(403);
    expect((await api('POST', '/api/v2/embeddings/reembed', stack.token(alice), { model: 'text-embedding-3-large' })).status).toBe(403);
    expect((await api('GET', '/api/v2/embeddings', '')).status).toBe(401);
    const o = await overview();
    expect(o.totalChunks).toBeGreaterThan(6);
    expect(o.models).toEqual([
      expect.objectContaining({ model: 'text-embedding-3-small', version: 1, dimensions: 1536, state: 'active', chunks: o.totalChunks }),
    ]);
  });

  it('refuses what cannot be done, with the reason', async () => {
    const post = (body: unknown) => api('POST', '/api/v2/embeddings/reembed', adminToken(), body);
    const unknown = await post({ model: 'no-such-model' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('refused no-such-model');
    expect((await post({ model: '' })).status).toBe(400);
    expect((await post({ model: 'bad model name' })).status).toBe(400);
    expect((await post({ model: 'text-embedding-3-large', dimensions: 20_000 })).status).toBe(400);
    expect((await post({ model: 'text-embedding-3-large', dimensions: 4000 })).status).toBe(400); // the provider's limit is 3072
    const same = await post({ model: 'text-embedding-3-small', version: 1 });
    expect(same.status).toBe(409);
    expect(JSON.stringify(same.body)).toContain('already the active model');
    expect((await api('DELETE', '/api/v2/embeddings/text-embedding-3-small/1', adminToken())).status).toBe(409);
    expect((await api('DELETE', '/api/v2/embeddings/nothing/1', adminToken())).status).toBe(404);
    expect((await api('DELETE', '/api/v2/embeddings/nothing/one', adminToken())).status).toBe(400);
    // nothing was registered by the refused requests
    expect((await overview()).models).toHaveLength(1);
  });

  it('builds the new model next to the active one, switches search over, then deletes the old vectors', async () => {
    const before = await search('How does the kestrel hunt voles by hovering over a meadow?');
    expect(before).toMatchObject({ model: 'text-embedding-3-small', model_version: 1 });
    expect(before.results[0].document_id).toBe(docs['birds'].documentId);

    // slow the embedder so the build takes a few seconds and can be watched
    await setFaults(stack.embedder, { latencyMs: 150 });
    let building: ModelStatus;
    try {
      const started = await api('POST', '/api/v2/embeddings/reembed', adminToken(), { model: 'text-embedding-3-large', dimensions: 256 });
      expect(started.status).toBe(202);
      building = started.body as unknown as ModelStatus;
      expect(building).toMatchObject({ model: 'text-embedding-3-large', version: 1, dimensions: 256, state: 'building', requestedBy: `user:${admin}` });

      // the same request again returns the build in progress; another one is refused while it runs
      const again = await api('POST', '/api/v2/embeddings/reembed', adminToken(), { model: 'text-embedding-3-large' });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ model: 'text-embedding-3-large', version: 1, state: 'building' });
      expect((await api('POST', '/api/v2/embeddings/reembed', adminToken(), { model: 'text-embedding-3-small' })).status).toBe(409);

      // side by side: both models have rows; search still reads the active one
      await until('the first re-embedded rows', async () => (await rowsByModel()).length === 2, 30_000);
      const during = await search('How does the kestrel hunt voles by hovering over a meadow?');
      expect(during).toMatchObject({ model: 'text-embedding-3-small', model_version: 1 });
      expect(during.results[0].document_id).toBe(docs['birds'].documentId);

      // a document uploaded during the build is embedded with both models (nothing to catch up later)
      await upload('moon', MOON);
      const [moon] = await waitForJobs(stack, [docs['moon'].jobId], 60_000);
      expect(moon).toMatchObject({ stage: 'complete', state: 'done' });
    } finally {
      await setFaults(stack.embedder, { latencyMs: 0 });
    }

    const switched = await until(
      'search to switch over and the old vectors to go',
      async () => {
        const o = await overview();
        const large = o.models.find((m) => m.model === 'text-embedding-3-large');
        const small = o.models.find((m) => m.model === 'text-embedding-3-small');
        return large?.state === 'active' && small?.state === 'retired' && small.chunks === 0 ? o : null;
      },
      60_000,
    );
    expect(switched.models.find((m) => m.state === 'active')).toMatchObject({ chunks: switched.totalChunks, dimensions: 256 });

    // every chunk, the moon's too, has exactly one row: the new model's, with 256 dimensions
    const total = await distinctChunks();
    expect(total).toBe(switched.totalChunks);
    expect(await rowsByModel()).toEqual([{ embed_model: 'text-embedding-3-large', embed_version: 1, rows: total, chunks: total, dims: [256] }]);

    // search embeds the query with the new model and still finds the right chunks
    const kestrel = await search('How does the kestrel hunt voles by hovering over a meadow?');
    expect(kestrel).toMatchObject({ model: 'text-embedding-3-large', model_version: 1 });
    expect(kestrel.results[0].document_id).toBe(docs['birds'].documentId);
    expect(kestrel.results[0].text).toContain('hovering');
    expect((await search('Why are there two high tides a day?')).results[0].document_id).toBe(docs['moon'].documentId);
    expect((await search('How do I keep a sourdough starter alive?')).results[0].document_id).toBe(docs['bread'].documentId);

    // documents report their chunk count, not rows per model
    const doc = await api('GET', `/api/v2/documents/${docs['moon'].documentId}`, stack.token(alice));
    const [{ n }] = await stack.sql<{ n: number }>(
      `SELECT count(DISTINCT chunk_id)::int AS n FROM upload_pipeline.document_chunks WHERE document_id = $1`,
      [docs['moon'].documentId],
    );
    expect(doc.body).toMatchObject({ chunk_count: n });
  });

  it('a document uploaded after the switch is embedded with the new model only', async () => {
    await upload('tea', TEA);
    const [tea] = await waitForJobs(stack, [docs['tea'].jobId], 60_000);
    expect(tea).toMatchObject({ stage: 'complete', state: 'done' });
    const rows = await stack.sql<{ embed_model: string }>(
      `SELECT DISTINCT embed_model FROM upload_pipeline.document_chunks WHERE document_id = $1`,
      [docs['tea'].documentId],
    );
    expect(rows).toEqual([{ embed_model: 'text-embedding-3-large' }]);
    expect((await search('At what temperature should green tea be brewed?')).results[0].document_id).toBe(docs['tea'].documentId);
  });

  it('a cancelled build deletes its vectors and leaves search where it was', async () => {
    await setFaults(stack.embedder, { latencyMs: 400 });
    try {
      // version 1 of the small model was embedded with 1536 dimensions: another size needs another version
      const reused = await api('POST', '/api/v2/embeddings/reembed', adminToken(), { model: 'text-embedding-3-small', dimensions: 64 });
      expect(reused.status).toBe(409);
      expect(JSON.stringify(reused.body)).toContain('embedded before with 1536 dimensions');
      const started = await api('POST', '/api/v2/embeddings/reembed', adminToken(), { model: 'text-embedding-3-small', version: 2, dimensions: 64 });
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ model: 'text-embedding-3-small', version: 2, dimensions: 64, state: 'building' });
      await until('some rows of the build', async () => (await rowsByModel()).some((r) => r.embed_version === 2), 30_000);
      const removed = await api('DELETE', '/api/v2/embeddings/text-embedding-3-small/2', adminToken());
      expect(removed.status).toBe(200);
      expect(removed.body).toMatchObject({ model: 'text-embedding-3-small', version: 2, state: 'building' });
    } finally {
      await setFaults(stack.embedder, { latencyMs: 0 });
    }
    // a batch the worker had in flight cannot land: its model is gone (foreign key)
    await new Promise((r) => setTimeout(r, 1000));
    expect((await rowsByModel()).map((r) => `${r.embed_model}:${r.embed_version}`)).toEqual(['text-embedding-3-large:1']);
    const o = await overview();
    expect(o.models.map((m) => `${m.model}:${m.version}:${m.state}`).sort()).toEqual([
      'text-embedding-3-large:1:active',
      'text-embedding-3-small:1:retired',
    ]);
    expect(await search('How does the kestrel hunt voles?')).toMatchObject({ model: 'text-embedding-3-large', model_version: 1 });
  });

  it('the reembed command does the same from the command line', async () => {
    const command = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
        const child = spawn(process.execPath, [join(ROOT, 'dist/apps/worker/main.js'), 'reembed', ...args], {
          env: {
            PATH: process.env['PATH'] ?? '',
            NODE_ENV: 'test',
            LOG_LEVEL: 'warn',
            DATABASE_URL: stack.db.url,
            OPENAI_BASE_URL: `${stack.embedder.url}/v1`,
            EMBEDDING_DIMENSIONS: '1536',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => res({ code, stdout, stderr }));
      });

    const usage = await command(['--model', 'x', '--run', '--wait']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('exclude each other');
    expect(usage.stderr).toContain('usage: node dist/apps/worker/main.js reembed');
    const refused = await command(['--model', 'text-embedding-3-large', '--version', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already the active model');

    // --run: the command embeds batches itself (next to the worker's loop, which shares the work) and
    // returns once search has switched over and the old vectors are gone
    const run = await command(['--model', 'text-embedding-3-small', '--version', '3', '--dimensions', '512', '--run', '--timeout', '120']);
    expect(run.stderr).toContain('switched over: search reads text-embedding-3-small v3');
    expect(run.code).toBe(0);
    const after = JSON.parse(run.stdout) as Overview;
    expect(after.models.find((m) => m.state === 'active')).toMatchObject({ model: 'text-embedding-3-small', version: 3, chunks: after.totalChunks });
    await until('the old vectors to go', async () => (await rowsByModel()).length === 1, 30_000);
    const total = await distinctChunks();
    expect(await rowsByModel()).toEqual([{ embed_model: 'text-embedding-3-small', embed_version: 3, rows: total, chunks: total, dims: [512] }]);

    const status = await command(['--status']);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as Overview).models.map((m) => `${m.model}:${m.version}:${m.state}`).sort()).toEqual([
      'text-embedding-3-large:1:retired',
      'text-embedding-3-small:1:retired',
      'text-embedding-3-small:3:active',
    ]);
    expect((await search('How does the kestrel hunt voles by hovering?')).results[0].document_id).toBe(docs['birds'].documentId);
  });
});
