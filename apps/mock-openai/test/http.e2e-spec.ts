import fc from 'fast-check';
import { AUTH, RATE_LIMIT_HEADERS, SMALL, TestApp, expectOpenAIError, startApp } from './helpers';

describe('HTTP edges', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  const post = (body: string, type = 'application/json') =>
    t.http().post('/v1/embeddings').set(AUTH).set('Content-Type', type).send(body);

  it('answers malformed JSON with 400 in OpenAI shape', async () => {
    for (const body of ['{"model":', '{model: 1}', 'null', '"text"', '{"a":1}}']) {
      const res = await post(body).expect(400);
      expectOpenAIError(res.body);
      for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
    }
  });

  it('answers a non-JSON content type with 415 in OpenAI shape', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await post('model=x&input=y', type).expect(415);
      expect(expectOpenAIError(res.body).code).toBe('unsupported_media_type');
    }
  });

  it('accepts JSON with a charset and vendor +json types', async () => {
    const body = JSON.stringify({ model: SMALL, input: 'x' });
    await post(body, 'application/json; charset=utf-8').expect(200);
    await post(body, 'application/vnd.api+json').expect(200);
  });

  it('answers an empty POST as a missing model, not a crash', async () => {
    const res = await t.http().post('/v1/embeddings').set(AUTH).expect(400);
    expect(expectOpenAIError(res.body).param).toBe('model');
  });

  it('answers unknown routes and methods with 404 in OpenAI shape', async () => {
    for (const [method, path] of [
      ['get', '/nope'],
      ['get', '/v1/embeddings'],
      ['delete', '/v1/models'],
      ['post', '/v2/embeddings'],
    ] as const) {
      const res = await t.http()[method](path).set(AUTH).expect(404);
      expect(expectOpenAIError(res.body).message).toBe(`Invalid URL (${method.toUpperCase()} ${path})`);
    }
  });

  it('never answers 500 to arbitrary JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              model: fc.oneof(fc.constantFrom(SMALL, 'text-embedding-3-large', 'text-embedding-ada-002'), fc.jsonValue()),
              input: fc.oneof(fc.string(), fc.array(fc.string()), fc.array(fc.integer()), fc.array(fc.array(fc.integer())), fc.jsonValue()),
              dimensions: fc.oneof(fc.integer({ min: -5, max: 4000 }), fc.jsonValue()),
              encoding_format: fc.oneof(fc.constantFrom('float', 'base64'), fc.jsonValue()),
              user: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        async (value) => {
          const res = await post(JSON.stringify(value) ?? 'null');
          expect(res.status).toBeLessThan(500);
          if (res.status !== 200) expectOpenAIError(res.body);
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  it('never answers 500 to arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (raw) => {
        const res = await post(raw);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});

describe('body limit', () => {
  it('answers a body over MOCK_OPENAI_BODY_LIMIT with 413 in OpenAI shape', async () => {
    const t = await startApp({ MOCK_OPENAI_BODY_LIMIT: '1kb' });
    try {
      const res = await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'x'.repeat(2000) }).expect(413);
      expect(expectOpenAIError(res.body).code).toBe('payload_too_large');
    } finally {
      await t.close();
    }
  });
});

describe('GET /v1/models', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('lists the embedding models', async () => {
    const res = await t.http().get('/v1/models').set(AUTH).expect(200);
    expect(res.body.object).toBe('list');
    expect(res.body.data.map((m: { id: string }) => m.id).sort()).toEqual([
      'text-embedding-3-large',
      'text-embedding-3-small',
      'text-embedding-ada-002',
    ]);
    for (const m of res.body.data) expect(m).toEqual({ id: expect.any(String), object: 'model', created: expect.any(Number), owned_by: expect.any(String) });
    for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
  });

  it('retrieves one model or 404 model_not_found', async () => {
    const res = await t.http().get('/v1/models/text-embedding-3-large').set(AUTH).expect(200);
    expect(res.body).toMatchObject({ id: 'text-embedding-3-large', object: 'model' });
    const missing = await t.http().get('/v1/models/gpt-nope').set(AUTH).expect(404);
    expect(expectOpenAIError(missing.body).code).toBe('model_not_found');
  });
});

describe('GET /metrics', () => {
  it('exposes Prometheus counters of responses and embedded tokens', async () => {
    const t = await startApp();
    try {
      await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: 'hello world' }).expect(200);
      await t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input: '' }).expect(400);
      const res = await t.http().get('/metrics').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      // every series also carries the default label app="mock-openai"
      expect(res.text).toMatch(/mock_openai_responses_total\{outcome="ok",status="200"[^}]*\} 1\n/);
      expect(res.text).toMatch(/mock_openai_responses_total\{outcome="invalid_request",status="400"[^}]*\} 1\n/);
      expect(res.text).toMatch(/mock_openai_tokens_embedded_total\{app="mock-openai"\} 2\n/);
      expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/v1\/embeddings"/);
      expect(res.text).toContain('mock_openai_process_cpu_seconds_total');
    } finally {
      await t.close();
    }
  });
});

describe('health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('reports live and ready as JSON without auth', async () => {
    const live = await t.http().get('/health/live').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { tokenizer: { status: 'up', encoding: 'cl100k_base' } } });
  });
});
