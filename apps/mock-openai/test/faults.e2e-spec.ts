import { AUTH, SMALL, TestApp, expectOpenAIError, startApp } from './helpers';

const FAULTS = { MOCK_SEED: '1234', MOCK_OPENAI_ERROR_RATE: '0.3', MOCK_OPENAI_RATE_LIMIT_RATE: '0.2', MOCK_OPENAI_RETRY_AFTER_MS: '1500' };

async function statuses(t: TestApp, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: `doc ${i}` });
    out.push(res.status);
    if (res.status !== 200) {
      const e = expectOpenAIError(res.body);
      expect(res.headers['x-mock-fault']).toBeDefined();
      if (res.status === 429) {
        expect(e.code).toBe('rate_limit_exceeded');
        expect(res.headers['retry-after']).toBe('2');
        expect(res.headers['retry-after-ms']).toBe('1500');
      } else {
        expect(e.type).toBe('server_error');
      }
    }
  }
  return out;
}

describe('fault injection', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('counts a request as received when it arrives, before an injected latency answers it', async () => {
    t = await startApp({ MOCK_OPENAI_LATENCY_MS: '1000' });
    const pending = t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'slow' });
    const answered = pending.then((r) => r.status);
    let seen: { received: number; total: number } | undefined;
    for (let i = 0; i < 100 && !seen?.received; i++) {
      seen = (await t.http().get('/_mock/stats').expect(200)).body.requests;
      if (!seen?.received) await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen).toMatchObject({ received: 1, total: 0 });
    expect(await answered).toBe(200);
    expect((await t.http().get('/_mock/stats').expect(200)).body.requests).toMatchObject({ received: 1, total: 1 });
  });

  it('injects 500/503/429 at the configured rates, reproducibly for a seed', async () => {
    t = await startApp(FAULTS);
    const first = await statuses(t, 60);
    expect(new Set(first)).toEqual(new Set([200, 429, 500, 503]));
    const failures = first.filter((s) => s !== 200).length;
    expect(failures).toBeGreaterThan(15);
    expect(failures).toBeLessThan(45);

    const stats = await t.http().get('/_mock/stats').expect(200);
    expect(stats.body.requests.total).toBe(60);
    expect(stats.body.requests.received).toBe(60);
    expect(stats.body.requests.byOutcome.ok).toBe(first.filter((s) => s === 200).length);
    expect(stats.body.requests.byOutcome.injected_rate_limit).toBe(first.filter((s) => s === 429).length);
    expect(stats.body.requests.byOutcome.injected_error).toBe(first.filter((s) => s >= 500).length);
    expect(stats.body.served.requests).toBe(first.filter((s) => s === 200).length);
    expect(stats.body.served.tokens).toBeGreaterThan(0);

    // Re-seeding at run time replays the same sequence; so does a fresh app with the same env.
    await t.http().put('/_mock/config').send({ seed: 1234 }).expect(200);
    expect(await statuses(t, 60)).toEqual(first);
    const other = await startApp(FAULTS);
    try {
      expect(await statuses(other, 60)).toEqual(first);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('hangs for timeoutMs then answers 504', async () => {
    t = await startApp({ MOCK_OPENAI_TIMEOUT_RATE: '1', MOCK_OPENAI_TIMEOUT_MS: '300' });
    const started = Date.now();
    const res = await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'x' }).expect(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(expectOpenAIError(res.body).code).toBe('timeout');
    expect(res.headers['x-mock-fault']).toBe('timeout');
  });

  it('releases hanging requests when the app shuts down', async () => {
    t = await startApp({ MOCK_OPENAI_TIMEOUT_RATE: '1', MOCK_OPENAI_TIMEOUT_MS: '600000' });
    await t.app.listen(0, '127.0.0.1');
    const pending = t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'x' });
    const result = pending.then((r) => r.status);
    await new Promise((r) => setTimeout(r, 100));
    await t.close();
    expect(await result).toBe(504);
  }, 10_000);

  it('stops hanging when the client goes away and counts it as client_closed', async () => {
    t = await startApp({ MOCK_OPENAI_TIMEOUT_RATE: '1', MOCK_OPENAI_TIMEOUT_MS: '600000' });
    await t.app.listen(0, '127.0.0.1');
    await expect(t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'x' }).timeout(100)).rejects.toThrow();
    let closed = 0;
    while (closed === 0) {
      await new Promise((r) => setTimeout(r, 20));
      closed = (await t.http().get('/_mock/stats')).body.requests.byOutcome.client_closed ?? 0;
    }
    expect(closed).toBe(1);
  }, 10_000);

  it('adds the configured latency', async () => {
    t = await startApp({ MOCK_OPENAI_LATENCY_MS: '150' });
    const started = Date.now();
    await t.http().get('/v1/models').set(AUTH).expect(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('/_mock/config', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ MOCK_SEED: '7' });
  });
  afterAll(() => t.close());

  it('shows the knobs in camelCase', async () => {
    const res = await t.http().get('/_mock/config').expect(200);
    expect(res.body).toEqual({
      latencyMs: 0,
      errorRate: 0,
      rateLimitRate: 0,
      timeoutRate: 0,
      timeoutMs: 30_000,
      retryAfterMs: 1000,
      seed: 7,
      quotaExhausted: false,
      tpm: 1_000_000_000,
      rpm: 1_000_000,
    });
  });

  it('merges a partial update and switches faults on without a restart', async () => {
    const res = await t.http().put('/_mock/config').send({ errorRate: 1 }).expect(200);
    expect(res.body).toMatchObject({ errorRate: 1, seed: 7 });
    const failed = await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'x' });
    expect([500, 503]).toContain(failed.status);
    const reset = await t.http().delete('/_mock/config').expect(200);
    expect(reset.body.errorRate).toBe(0);
    await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'x' }).expect(200);
  });

  it.each([
    [{ errorRate: 2 }],
    [{ errorRate: 0.6, timeoutRate: 0.6 }],
    [{ latencyMs: -1 }],
    [{ latencyMs: null }],
    [{ seed: 'abc' }],
    [{ bogus: 1 }],
    [{ quotaExhausted: 'yes' }],
  ])('rejects %j with 400 in OpenAI shape and changes nothing', async (patch) => {
    const before = (await t.http().get('/_mock/config')).body;
    const res = await t.http().put('/_mock/config').send(patch).expect(400);
    expectOpenAIError(res.body);
    expect((await t.http().get('/_mock/config')).body).toEqual(before);
  });

  it('resets the stats', async () => {
    await t.http().get('/v1/models').set(AUTH).expect(200);
    expect((await t.http().get('/_mock/stats')).body.requests.total).toBeGreaterThan(0);
    const res = await t.http().delete('/_mock/stats').expect(200);
    expect(res.body.requests.total).toBe(0);
  });
});
