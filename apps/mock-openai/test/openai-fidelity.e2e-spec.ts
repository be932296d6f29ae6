import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI, { APIError } from 'openai';
import type { Response } from 'supertest';
import { API_KEY, AUTH, RATE_LIMIT_HEADERS, SMALL, TestApp, expectOpenAIError, startApp, textOfTokens } from './helpers';

/** A Go duration as OpenAI prints x-ratelimit-reset-*: "0s", "20ms", "1.5s", "6m0s", "1h2m3s". */
const GO_DURATION = /^(?:[1-9]\d*ms|(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s)$/;

/** The headers OpenAI sends on every /v1 response, whatever the status. */
function expectOpenAIHeaders(res: Response): void {
  expect(res.headers['openai-organization']).toBe('org-mock');
  expect(res.headers['openai-version']).toBe('2020-10-01');
  expect(res.headers['openai-processing-ms']).toMatch(/^\d+$/);
  expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
  for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
  expect(res.headers['x-ratelimit-reset-requests']).toMatch(GO_DURATION);
  expect(res.headers['x-ratelimit-reset-tokens']).toMatch(GO_DURATION);
}

function expectNoRetryAfter(res: Response): void {
  expect(res.headers['retry-after']).toBeUndefined();
  expect(res.headers['retry-after-ms']).toBeUndefined();
}

describe('fidelity to the real OpenAI API', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  const embed = (body: object) => t.http().post('/v1/embeddings').set(AUTH).send(body);

  it('sends openai-organization, openai-version, openai-processing-ms, x-request-id and x-ratelimit-* on every /v1 response', async () => {
    t = await startApp({ MOCK_OPENAI_RPM: '3' });
    const responses: Response[] = [
      await embed({ model: SMALL, input: 'hello' }).expect(200),
      await t.http().get('/v1/models').set(AUTH).expect(200),
      await t.http().get(`/v1/models/${SMALL}`).set(AUTH).expect(200),
      await embed({ model: SMALL, input: '' }).expect(400),
      await embed({ model: 'no-such-model', input: 'x' }).expect(404),
      await t.http().post('/v1/embeddings').send({ model: SMALL, input: 'x' }).expect(401),
      await t.http().post('/v1/embeddings').set({ Authorization: 'Bearer sk-wrong-0000000000' }).send({ model: SMALL, input: 'x' }).expect(401),
      await t.http().get('/v1/no-such-route').set(AUTH).expect(404),
      await t.http().post('/v1/embeddings').set(AUTH).set('Content-Type', 'application/json').send('{"model":').expect(400),
      await t.http().post('/v1/embeddings').set(AUTH).set('Content-Type', 'text/plain').send('hello').expect(415),
      await embed({ model: SMALL, input: 'two' }).expect(200),
      await embed({ model: SMALL, input: 'three' }).expect(200),
      await embed({ model: SMALL, input: 'four' }).expect(429),
    ];
    for (const res of responses) expectOpenAIHeaders(res);
    const ids = responses.map((r) => r.headers['x-request-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(responses[0].headers['openai-model']).toBe(SMALL);
    // Non-API routes keep only x-request-id.
    const live = await t.http().get('/health/live').expect(200);
    expect(live.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('openai-processing-ms covers the time the request took', async () => {
    t = await startApp({ MOCK_OPENAI_LATENCY_MS: '150' });
    const res = await embed({ model: SMALL, input: 'slow' }).expect(200);
    expect(Number(res.headers['openai-processing-ms'])).toBeGreaterThanOrEqual(140);
  });

  it('x-ratelimit-reset-* are Go durations: 0s when the budget is full, then ms/s/m', async () => {
    t = await startApp({ MOCK_OPENAI_RPM: '10', MOCK_OPENAI_TPM: '1000' });
    const idle = await t.http().get('/v1/models').set(AUTH).expect(200);
    expect(idle.headers['x-ratelimit-reset-requests']).toBe('0s');
    expect(idle.headers['x-ratelimit-reset-tokens']).toBe('0s');
    const res = await embed({ model: SMALL, input: textOfTokens(500) }).expect(200);
    expect(res.headers['x-ratelimit-reset-requests']).toBe('6s'); // 1 of 10 per minute
    expect(res.headers['x-ratelimit-reset-tokens']).toMatch(/^(29\.9\d*|30)s$/); // 500 of 1000 per minute
  });

  it('answers an input over 8192 tokens with 400 and param/code null', async () => {
    t = await startApp();
    const res = await embed({ model: SMALL, input: ['ok', textOfTokens(9000)] }).expect(400);
    const e = expectOpenAIError(res.body);
    expect(e).toEqual({
      message: "This model's maximum input length is 8192 tokens, however you requested 9000 tokens in 'input[1]'. Please reduce the length of the input.",
      type: 'invalid_request_error',
      param: null,
      code: null,
    });
    expectNoRetryAfter(res);
    expectOpenAIHeaders(res);
  });

  describe('retry-after only on 429 rate limits', () => {
    it('sends it on rate-limit 429s (real and injected)', async () => {
      t = await startApp({ MOCK_OPENAI_RPM: '1' });
      await embed({ model: SMALL, input: 'a' }).expect(200);
      const real = await embed({ model: SMALL, input: 'b' }).expect(429);
      expect(real.headers['retry-after']).toMatch(/^\d+$/);
      expect(real.headers['retry-after-ms']).toMatch(/^\d+$/);
      await t.close();
      t = await startApp({ MOCK_OPENAI_RATE_LIMIT_RATE: '1', MOCK_OPENAI_RETRY_AFTER_MS: '2500' });
      const injected = await embed({ model: SMALL, input: 'x' }).expect(429);
      expect(injected.headers['retry-after']).toBe('3');
      expect(injected.headers['retry-after-ms']).toBe('2500');
    });

    it('does not send it on injected 500/503/504, insufficient_quota or 4xx validation errors', async () => {
      t = await startApp({ MOCK_OPENAI_ERROR_RATE: '1', MOCK_OPENAI_RETRY_AFTER_MS: '2500' });
      const seen = new Map<number, Response>();
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        const res = await embed({ model: SMALL, input: `doc ${i}` });
        seen.set(res.status, res);
      }
      expect([...seen.keys()].sort()).toEqual([500, 503]);
      for (const res of seen.values()) {
        expectNoRetryAfter(res);
        expectOpenAIHeaders(res);
        expect(expectOpenAIError(res.body)).toMatchObject({ type: 'server_error', param: null, code: null });
      }
      await t.http().put('/_mock/config').send({ errorRate: 0, timeoutRate: 1, timeoutMs: 10 }).expect(200);
      const timeout = await embed({ model: SMALL, input: 'x' }).expect(504);
      expectNoRetryAfter(timeout);
      await t.http().put('/_mock/config').send({ timeoutRate: 0, quotaExhausted: true }).expect(200);
      expectNoRetryAfter(await embed({ model: SMALL, input: 'x' }).expect(429));
      await t.http().put('/_mock/config').send({ quotaExhausted: false }).expect(200);
      expectNoRetryAfter(await embed({ model: SMALL, input: '' }).expect(400));
    });
  });

  describe('the official openai SDK', () => {
    let client: OpenAI;

    beforeEach(async () => {
      t = await startApp();
      await t.app.listen(0, '127.0.0.1');
      const { port } = (t.app.getHttpServer() as Server).address() as AddressInfo;
      client = new OpenAI({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    });

    it('embeds an input of exactly 8192 tokens and reads the request id and OpenAI headers', async () => {
      const { data, response, request_id } = await client.embeddings
        .create({ model: SMALL, input: textOfTokens(8192), dimensions: 8, encoding_format: 'float' })
        .withResponse();
      expect(data.usage.prompt_tokens).toBe(8192);
      expect(data.data[0].embedding).toHaveLength(8);
      expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
      expect(request_id).toBe(response.headers.get('x-request-id'));
      expect(response.headers.get('openai-version')).toBe('2020-10-01');
      expect(response.headers.get('openai-organization')).toBe('org-mock');
    });

    it('raises BadRequestError with code and param null for 8193 tokens', async () => {
      let err: unknown;
      try {
        await client.embeddings.create({ model: SMALL, input: textOfTokens(8193) });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err).toMatchObject({ status: 400, type: 'invalid_request_error', code: null, param: null });
      expect((err as APIError).message).toContain('maximum input length is 8192 tokens');
      expect((err as APIError).requestID).toMatch(/^req_[0-9a-f]{32}$/);
    });
  });
});
