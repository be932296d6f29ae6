import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { API_KEY, SMALL, TestApp, startApp } from './helpers';

interface RawEmbeddings {
  data: { index: number; embedding: number[] }[];
  usage: { prompt_tokens: number; total_tokens: number };
}

describe('the official openai SDK against the mock (real socket)', () => {
  let t: TestApp;
  let baseURL: string;
  let client: OpenAI;

  beforeAll(async () => {
    t = await startApp();
    await t.app.listen(0, '127.0.0.1');
    const { port } = (t.app.getHttpServer() as Server).address() as AddressInfo;
    baseURL = `http://127.0.0.1:${port}/v1`;
    client = new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0 });
  });
  afterAll(() => t.close());

  const input = ['The quick brown fox', 'jumps over the lazy dog', 'お誕生日おめでとう'];

  async function raw(body: object): Promise<RawEmbeddings> {
    const res = await fetch(`${baseURL}/embeddings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as RawEmbeddings;
  }

  it('returns exactly the HTTP API vectors with the default (base64) encoding', async () => {
    const expected = await raw({ model: SMALL, input, encoding_format: 'float' });
    const wire: unknown[] = [];
    const spying = new OpenAI({
      apiKey: API_KEY,
      baseURL,
      maxRetries: 0,
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        wire.push(JSON.parse(String(init?.body)), await res.clone().json());
        return res;
      },
    });
    const res = await spying.embeddings.create({ model: SMALL, input });
    // The SDK asked for base64 and got strings on the wire, which it decoded.
    expect(wire[0]).toMatchObject({ encoding_format: 'base64' });
    expect(typeof (wire[1] as RawEmbeddings).data[0].embedding).toBe('string');
    expect(res.object).toBe('list');
    expect(res.model).toBe(SMALL);
    expect(res.usage).toEqual(expected.usage);
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(res.data.map((d) => d.embedding)).toEqual(expected.data.map((d) => d.embedding));
  });

  it('returns exactly the HTTP API vectors with encoding_format float', async () => {
    const expected = await raw({ model: 'text-embedding-3-large', input, dimensions: 512 });
    const res = await client.embeddings.create({ model: 'text-embedding-3-large', input, dimensions: 512, encoding_format: 'float' });
    expect(res.data.map((d) => d.embedding)).toEqual(expected.data.map((d) => d.embedding));
    expect(res.data[0].embedding).toHaveLength(512);
  });

  it('embeds token arrays through the SDK', async () => {
    const res = await client.embeddings.create({ model: SMALL, input: [[15339, 1917]] });
    const text = await raw({ model: SMALL, input: 'hello world' });
    expect(res.data[0].embedding).toEqual(text.data[0].embedding);
  });

  it('lists and retrieves models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain(SMALL);
    expect((await client.models.retrieve('text-embedding-ada-002')).id).toBe('text-embedding-ada-002');
  });

  async function caught(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (e) {
      return e;
    }
    throw new Error('expected the SDK call to fail');
  }

  it('surfaces errors as the SDK error classes with OpenAI codes', async () => {
    const notFound = await caught(client.embeddings.create({ model: 'no-such-model', input: 'x' }));
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect(notFound).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
    expect(await caught(client.embeddings.create({ model: SMALL, input: '' }))).toBeInstanceOf(OpenAI.BadRequestError);
    const wrongKey = new OpenAI({ apiKey: 'sk-wrong-000000000', baseURL, maxRetries: 0 });
    const auth = await caught(wrongKey.embeddings.create({ model: SMALL, input: 'x' }));
    expect(auth).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(auth).toMatchObject({ code: 'invalid_api_key' });
  });

  it('gets a RateLimitError with insufficient_quota, and honours retry-after on injected 429s', async () => {
    await t.http().put('/_mock/config').send({ quotaExhausted: true }).expect(200);
    try {
      const quota = await caught(client.embeddings.create({ model: SMALL, input: 'x' }));
      expect(quota).toBeInstanceOf(OpenAI.RateLimitError);
      expect(quota).toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
    } finally {
      await t.http().put('/_mock/config').send({ quotaExhausted: false }).expect(200);
    }

    // One injected 429 (rate 1, then back to 0 after the first attempt): the SDK's own retry succeeds.
    await t.http().put('/_mock/config').send({ rateLimitRate: 1, retryAfterMs: 50 }).expect(200);
    const retrying = new OpenAI({
      apiKey: API_KEY,
      baseURL,
      maxRetries: 2,
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        if (res.status === 429) await t.http().put('/_mock/config').send({ rateLimitRate: 0 }).expect(200);
        return res;
      },
    });
    const ok = await retrying.embeddings.create({ model: SMALL, input: 'x' });
    expect(ok.data).toHaveLength(1);
    const stats = (await t.http().get('/_mock/stats')).body;
    expect(stats.requests.byOutcome.injected_rate_limit).toBe(1);
  });
});
