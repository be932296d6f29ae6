import { AUTH, RATE_LIMIT_HEADERS, SMALL, TestApp, expectOpenAIError, startApp } from './helpers';

describe('rate limits', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const embed = (input: unknown = 'hello world') => t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input });

  it('answers 429 with retry-after once the RPM budget is spent', async () => {
    t = await startApp({ MOCK_OPENAI_RPM: '2' });
    const first = await embed().expect(200);
    expect(first.headers['x-ratelimit-limit-requests']).toBe('2');
    expect(first.headers['x-ratelimit-remaining-requests']).toBe('1');
    await embed().expect(200);
    const res = await embed().expect(429);
    const e = expectOpenAIError(res.body);
    expect(e).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    const retryMs = Number(res.headers['retry-after-ms']);
    expect(retryMs).toBeGreaterThan(0);
    expect(retryMs).toBeLessThanOrEqual(30_000);
    expect(res.headers['retry-after']).toBe(String(Math.ceil(retryMs / 1000)));
    for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
    expect(res.headers['x-ratelimit-remaining-requests']).toBe('0');
  });

  it('answers 429 on tokens when the TPM budget cannot cover the request', async () => {
    t = await startApp({ MOCK_OPENAI_TPM: '10' });
    const ok = await embed(' hello'.repeat(8)).expect(200);
    expect(ok.headers['x-ratelimit-remaining-tokens']).toBe('2');
    const res = await embed(' hello'.repeat(8)).expect(429);
    expect(expectOpenAIError(res.body)).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(Number(res.headers['retry-after-ms'])).toBeGreaterThan(0);
    const tooLarge = await embed(' hello'.repeat(11)).expect(429);
    expect(expectOpenAIError(tooLarge.body).message).toContain('Request too large');
  });

  it('does not charge requests that fail validation', async () => {
    t = await startApp({ MOCK_OPENAI_RPM: '1' });
    await embed('').expect(400);
    await t.http().post('/v1/embeddings').set(AUTH).send({ model: 'nope', input: 'x' }).expect(404);
    await embed().expect(200);
  });

  it('can change the budgets at run time', async () => {
    t = await startApp();
    await t.http().put('/_mock/config').send({ rpm: 1, tpm: 1000 }).expect(200);
    await embed().expect(200);
    await embed().expect(429);
    await t.http().put('/_mock/config').send({ rpm: 100 }).expect(200);
    const res = await embed().expect(200);
    expect(res.headers['x-ratelimit-limit-requests']).toBe('100');
    expect(res.headers['x-ratelimit-limit-tokens']).toBe('1000');
  });

  it('answers 429 insufficient_quota in quota-exhausted mode', async () => {
    t = await startApp({ MOCK_OPENAI_QUOTA_EXHAUSTED: 'true' });
    const res = await embed().expect(429);
    expect(expectOpenAIError(res.body)).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(res.headers['retry-after']).toBeUndefined();
    await t.http().put('/_mock/config').send({ quotaExhausted: false }).expect(200);
    await embed().expect(200);
  });
});
