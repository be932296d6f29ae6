import request from 'supertest';
import { TestApp, startTestApp } from './helpers/test-app';

const UNKNOWN = '/api/v1/parsing/job/00000000-0000-4000-8000-000000000000';

describe('mock-llamaparse fault injection and admin (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MOCK_SEED: '7' });
  });
  afterEach(async () => {
    await request(t.http)
      .put('/_mock/config')
      .send({ errorRate: 0, rateLimitRate: 0, timeoutRate: 0, latencyMs: 0, dropWebhookRate: 0, fail402Rate: 0, upload429Rate: 0, partialSuccessRate: 0 })
      .expect(200);
  });
  afterAll(() => t.close());

  async function statuses(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await request(t.http).get(UNKNOWN)).status);
    return out;
  }

  it('GET /_mock/config shows the knobs from the environment', async () => {
    const res = await request(t.http).get('/_mock/config');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      latencyMs: 0,
      errorRate: 0,
      rateLimitRate: 0,
      retryAfterSeconds: 1,
      timeoutRate: 0,
      timeoutMs: 30_000,
      dropWebhookRate: 0,
      fail402Rate: 0,
      upload429Rate: 0,
      partialSuccessRate: 0,
      seed: 7,
    });
  });

  it('PUT /_mock/config validates its body', async () => {
    for (const body of [{ errorRate: 2 }, { errorRate: 'lots' }, { latencyMs: -1 }, { unknownKnob: 1 }]) {
      const res = await request(t.http).put('/_mock/config').send(body);
      expect(res.status).toBe(400);
      expect(typeof (res.body as { detail: unknown }).detail).toBe('string');
    }
    expect((await request(t.http).get('/_mock/config')).body).toMatchObject({ errorRate: 0, latencyMs: 0 });
  });

  it('injects 500/503 at the configured rate, reproducibly for a seed', async () => {
    await request(t.http).put('/_mock/config').send({ errorRate: 0.5, seed: 99 }).expect(200);
    await request(t.http).delete('/_mock/stats').expect(204);
    const first = await statuses(40);
    expect(new Set(first)).toEqual(new Set([404, 500, 503]));
    const injected = first.filter((s) => s !== 404).length;

    await request(t.http).put('/_mock/config').send({ seed: 99 }).expect(200);
    expect(await statuses(40)).toEqual(first);

    const stats = (await request(t.http).get('/_mock/stats')).body as { errorsInjected: Record<string, number> };
    expect(stats.errorsInjected.total).toBe(2 * injected);
    expect(stats.errorsInjected.http500 + stats.errorsInjected.http503).toBe(2 * injected);

    const res = await request(t.http).get(UNKNOWN);
    if (res.status !== 404) expect((res.body as { detail: string }).detail).toMatch(/injected fault/);
  });

  it('answers 429 with retry-after at rate limit rate 1, uploads included', async () => {
    await request(t.http).put('/_mock/config').send({ rateLimitRate: 1, retryAfterSeconds: 3 }).expect(200);
    const res = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), 'x.txt');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.body).toEqual({ detail: 'Too Many Requests (injected fault)' });
  });

  it('answers uploads (v1 and v2) 402 at fail402Rate 1, and only uploads', async () => {
    await request(t.http).put('/_mock/config').send({ fail402Rate: 1 }).expect(200);
    const v1 = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), 'x.txt');
    expect(v1.status).toBe(402);
    expect((v1.body as { detail: string }).detail).toMatch(/credits/);
    const v2 = await request(t.http)
      .post('/api/v2/parse/upload')
      .field('configuration', JSON.stringify({ tier: 'fast', version: 'latest' }))
      .attach('file', Buffer.from('x'), 'x.txt');
    expect(v2.status).toBe(402);
    expect((await request(t.http).get(UNKNOWN)).status).toBe(404);
    const stats = (await request(t.http).get('/_mock/stats')).body as { errorsInjected: Record<string, number> };
    expect(stats.errorsInjected.http402).toBeGreaterThanOrEqual(2);
  });

  it('answers uploads 429 without retry-after at upload429Rate 1', async () => {
    await request(t.http).put('/_mock/config').send({ upload429Rate: 1 }).expect(200);
    const res = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), 'x.txt');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBeUndefined();
    expect((await request(t.http).get(UNKNOWN)).status).toBe(404);
  });

  it('reports a successful v1 job PARTIAL_SUCCESS at partialSuccessRate 1, with its result', async () => {
    await request(t.http).put('/_mock/config').send({ partialSuccessRate: 1 }).expect(200);
    const up = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('# partial'), 'p.md').expect(200);
    const id = (up.body as { id: string }).id;
    let status = 'PENDING';
    for (let i = 0; i < 100 && status === 'PENDING'; i++) {
      status = ((await request(t.http).get(`/api/v1/parsing/job/${id}`)).body as { status: string }).status;
      if (status === 'PENDING') await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe('PARTIAL_SUCCESS');
    const md = await request(t.http).get(`/api/v1/parsing/job/${id}/result/markdown`).expect(200);
    expect((md.body as { markdown: string }).markdown).toContain('partial');
  });

  it('holds requests for timeoutMs and then answers 504', async () => {
    await request(t.http).put('/_mock/config').send({ timeoutRate: 1, timeoutMs: 50 }).expect(200);
    const res = await request(t.http).get(UNKNOWN);
    expect(res.status).toBe(504);
    const stats = (await request(t.http).get('/_mock/stats')).body as { errorsInjected: Record<string, number> };
    expect(stats.errorsInjected.timeout).toBeGreaterThanOrEqual(1);
  });

  it('a client timeout gives up on a hung request', async () => {
    await request(t.http).put('/_mock/config').send({ timeoutRate: 1, timeoutMs: 60_000 }).expect(200);
    await expect(request(t.http).get(UNKNOWN).timeout(100)).rejects.toThrow(/Timeout/);
  });

  it('never injects faults into health or admin routes', async () => {
    await request(t.http).put('/_mock/config').send({ errorRate: 1 }).expect(200);
    expect((await request(t.http).get('/health/live')).status).toBe(200);
    expect((await request(t.http).get('/health/ready')).status).toBe(200);
    expect((await request(t.http).get('/_mock/stats')).status).toBe(200);
  });

  it('answers unknown routes with a FastAPI-style 404', async () => {
    const res = await request(t.http).get('/api/v1/nothing');
    expect(res.status).toBe(404);
    expect(typeof (res.body as { detail: unknown }).detail).toBe('string');
  });
});

describe('mock-llamaparse health and back-pressure (e2e)', () => {
  it('is ready while the queue accepts work, 503 and 429 when the backlog is full', async () => {
    const t = await startTestApp({ MOCK_LLAMAPARSE_CONCURRENCY: '1', MOCK_LLAMAPARSE_QUEUE_MAX: '1', MOCK_LLAMAPARSE_LATENCY_MS: '60000' });
    try {
      const live = await request(t.http).get('/health/live');
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: 'ok' });
      const ready = await request(t.http).get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ok', info: { parse_queue: { status: 'up', accepting: true } } });

      const up = (): request.Test => request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), 'x.txt');
      expect((await up()).status).toBe(200); // running (sleeping in injected latency)
      expect((await up()).status).toBe(200); // waiting: backlog full
      const refused = await up();
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toEqual({ detail: 'Too many pending jobs' });

      const notReady = await request(t.http).get('/health/ready');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ status: 'error', error: { parse_queue: { status: 'down', pending: 1, running: 1 } } });
      const stats = (await request(t.http).get('/_mock/stats')).body as { jobs: Record<string, number>; uploads: number };
      expect(stats.uploads).toBe(2);
      expect(stats.jobs.PENDING).toBe(2);
    } finally {
      // Shutdown cancels the waiting job and interrupts the injected latency: close() returns promptly.
      await t.close();
    }
  });
});
