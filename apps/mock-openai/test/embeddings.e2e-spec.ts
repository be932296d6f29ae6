import { base64ToFloat32, cosine } from '../src/embeddings/vectorizer';
import { TokenizerService } from '../src/tokenizer/tokenizer.service';
import { AUTH, RATE_LIMIT_HEADERS, SMALL, TestApp, expectOpenAIError, startApp, textOfTokens } from './helpers';

interface EmbeddingsBody {
  object: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

describe('POST /v1/embeddings', () => {
  let t: TestApp;
  const tokenizer = new TokenizerService();

  beforeAll(async () => {
    t = await startApp();
    tokenizer.onModuleInit();
  });
  afterAll(() => t.close());

  const embed = (body: unknown) => t.http().post('/v1/embeddings').set(AUTH).send(body as object);

  it('returns OpenAI-shaped float embeddings with exact token usage', async () => {
    const res = await embed({ model: SMALL, input: ['hello world', 'tiktoken is great!'] }).expect(200);
    const body = res.body as EmbeddingsBody;
    expect(body.object).toBe('list');
    expect(body.model).toBe(SMALL);
    expect(body.usage).toEqual({ prompt_tokens: 8, total_tokens: 8 });
    expect(body.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    for (const d of body.data) {
      const v = d.embedding as number[];
      expect(v).toHaveLength(1536);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    expect(res.headers['content-type']).toMatch(/application\/json/);
    for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });

  it('is deterministic across requests and base64 decodes to the same float32 values', async () => {
    const a = (await embed({ model: SMALL, input: 'same input' }).expect(200)).body as EmbeddingsBody;
    const b = (await embed({ model: SMALL, input: 'same input' }).expect(200)).body as EmbeddingsBody;
    expect(b.data[0].embedding).toEqual(a.data[0].embedding);
    const c = (await embed({ model: SMALL, input: 'same input', encoding_format: 'base64' }).expect(200)).body as EmbeddingsBody;
    expect(typeof c.data[0].embedding).toBe('string');
    expect(Array.from(base64ToFloat32(c.data[0].embedding as string))).toEqual(a.data[0].embedding);
  });

  it('serves each model at its size, and different models differ', async () => {
    const large = (await embed({ model: 'text-embedding-3-large', input: 'hello' }).expect(200)).body as EmbeddingsBody;
    const ada = (await embed({ model: 'text-embedding-ada-002', input: 'hello' }).expect(200)).body as EmbeddingsBody;
    const small = (await embed({ model: SMALL, input: 'hello' }).expect(200)).body as EmbeddingsBody;
    expect(large.data[0].embedding).toHaveLength(3072);
    expect(ada.data[0].embedding).toHaveLength(1536);
    expect(ada.model).toBe('text-embedding-ada-002');
    expect(ada.data[0].embedding).not.toEqual(small.data[0].embedding);
  });

  it('shortens text-embedding-3 vectors with dimensions, still unit length', async () => {
    const res = (await embed({ model: SMALL, input: 'hello', dimensions: 256 }).expect(200)).body as EmbeddingsBody;
    const v = res.data[0].embedding as number[];
    expect(v).toHaveLength(256);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    const one = (await embed({ model: 'text-embedding-3-large', input: 'hello', dimensions: 1 }).expect(200)).body as EmbeddingsBody;
    expect(Math.abs((one.data[0].embedding as number[])[0])).toBeCloseTo(1, 6);
  });

  it('accepts token arrays and embeds them like the text they encode', async () => {
    const text = (await embed({ model: SMALL, input: 'hello world' }).expect(200)).body as EmbeddingsBody;
    const ids = (await embed({ model: SMALL, input: [15339, 1917] }).expect(200)).body as EmbeddingsBody;
    const nested = (await embed({ model: SMALL, input: [[15339, 1917], [15339]] }).expect(200)).body as EmbeddingsBody;
    expect(ids.usage.prompt_tokens).toBe(2);
    expect(ids.data[0].embedding).toEqual(text.data[0].embedding);
    expect(nested.data).toHaveLength(2);
    expect(nested.usage.total_tokens).toBe(3);
    const bad = await embed({ model: SMALL, input: [15339, 100256] }).expect(400);
    expect(expectOpenAIError(bad.body).code).toBe('invalid_value');
  });

  it('gives similar texts clearly closer vectors than unrelated ones', async () => {
    const res = (
      await embed({
        model: SMALL,
        input: ['How do I reset my password?', 'Steps to reset a forgotten password', 'The weather in Paris is sunny today'],
      }).expect(200)
    ).body as EmbeddingsBody;
    const [q, near, far] = res.data.map((d) => d.embedding as number[]);
    expect(cosine(q, near) - cosine(q, far)).toBeGreaterThan(0.2);
  });

  describe('limits', () => {
    it('rejects an empty string input with 400', async () => {
      for (const input of ['', ['ok', '']]) {
        const res = await embed({ model: SMALL, input }).expect(400);
        const e = expectOpenAIError(res.body);
        expect(e.type).toBe('invalid_request_error');
        expect(e.param).toBe('input');
        for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
      }
    });

    it('allows 2048 inputs and rejects 2049', async () => {
      const ok = (await embed({ model: SMALL, input: Array.from({ length: 2048 }, (_, i) => `doc ${i}`), dimensions: 8 }).expect(200))
        .body as EmbeddingsBody;
      expect(ok.data).toHaveLength(2048);
      expect(ok.data[2047].index).toBe(2047);
      const res = await embed({ model: SMALL, input: Array.from({ length: 2049 }, () => 'x') }).expect(400);
      expect(expectOpenAIError(res.body).code).toBe('array_above_max_length');
    });

    it('allows 8192 tokens in one input and rejects 8193, with param and code null as OpenAI sends them', async () => {
      expect(tokenizer.count(textOfTokens(8192))).toBe(8192);
      const ok = (await embed({ model: SMALL, input: textOfTokens(8192), dimensions: 8 }).expect(200)).body as EmbeddingsBody;
      expect(ok.usage.prompt_tokens).toBe(8192);
      const res = await embed({ model: SMALL, input: ['short', textOfTokens(8193)] }).expect(400);
      expect(res.body).toEqual({
        error: {
          message:
            "This model's maximum input length is 8192 tokens, however you requested 8193 tokens in 'input[1]'. " +
            'Please reduce the length of the input.',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
      const tokenIds = (n: number) => Array.from({ length: n }, () => 24748);
      const okTokens = (await embed({ model: SMALL, input: tokenIds(8192), dimensions: 8 }).expect(200)).body as EmbeddingsBody;
      expect(okTokens.usage.prompt_tokens).toBe(8192);
      const tokens = await embed({ model: SMALL, input: [tokenIds(8193)] }).expect(400);
      expect(expectOpenAIError(tokens.body)).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
      expect(expectOpenAIError(tokens.body).message).toContain("maximum input length is 8192 tokens, however you requested 8193 tokens in 'input[0]'");
    });

    it('allows 300,000 tokens a request and rejects more', async () => {
      const full = Array.from({ length: 36 }, () => textOfTokens(8192));
      const fill = 300_000 - 36 * 8192;
      const ok = (await embed({ model: SMALL, input: [...full, textOfTokens(fill)], dimensions: 4 }).expect(200)).body as EmbeddingsBody;
      expect(ok.usage.total_tokens).toBe(300_000);
      const res = await embed({ model: SMALL, input: [...full, textOfTokens(fill + 1)], dimensions: 4 }).expect(400);
      const e = expectOpenAIError(res.body);
      expect(e.code).toBe('max_tokens_per_request');
      expect(e.message).toContain('300001');
    });
  });

  describe('validation errors', () => {
    it.each([
      [{ input: 'x' }, 400, 'missing_required_parameter'],
      [{ model: SMALL }, 400, 'missing_required_parameter'],
      [{ model: 'text-embedding-4-huge', input: 'x' }, 404, 'model_not_found'],
      [{ model: SMALL, input: 'x', extra: true }, 400, 'unknown_parameter'],
      [{ model: SMALL, input: 'x', encoding_format: 'int8' }, 400, 'invalid_value'],
      [{ model: SMALL, input: 'x', dimensions: 0 }, 400, 'invalid_value'],
      [{ model: SMALL, input: 'x', dimensions: 1537 }, 400, 'invalid_value'],
      [{ model: 'text-embedding-3-large', input: 'x', dimensions: 3073 }, 400, 'invalid_value'],
      [{ model: 'text-embedding-ada-002', input: 'x', dimensions: 1536 }, 400, null],
      [{ model: SMALL, input: 'x', dimensions: '8' }, 400, 'invalid_type'],
      [{ model: SMALL, input: 42 }, 400, 'invalid_type'],
      [[{ model: SMALL, input: 'x' }], 400, null],
    ])('%j -> %i %s', async (body, status, code) => {
      const res = await embed(body).expect(status);
      const e = expectOpenAIError(res.body);
      expect(e.code).toBe(code);
      expect(e.type).toBe('invalid_request_error');
    });

    it('says the model does not exist like OpenAI', async () => {
      const res = await embed({ model: 'nope', input: 'x' }).expect(404);
      expect(expectOpenAIError(res.body).message).toBe('The model `nope` does not exist or you do not have access to it.');
    });
  });
});

describe('authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('requires a bearer key', async () => {
    const res = await t.http().post('/v1/embeddings').send({ model: SMALL, input: 'x' }).expect(401);
    const e = expectOpenAIError(res.body);
    expect(e.type).toBe('invalid_request_error');
    for (const h of RATE_LIMIT_HEADERS) expect(res.headers[h]).toBeDefined();
    await t.http().get('/v1/models').set('Authorization', 'Basic abc').expect(401);
  });

  it('rejects another key with invalid_api_key and redacts it', async () => {
    const res = await t
      .http()
      .post('/v1/embeddings')
      .set('Authorization', 'Bearer sk-wrong-key-12345678')
      .send({ model: SMALL, input: 'x' })
      .expect(401);
    const e = expectOpenAIError(res.body);
    expect(e.code).toBe('invalid_api_key');
    expect(e.message).toContain('sk-');
    expect(e.message).not.toContain('sk-wrong-key-12345678');
  });

  it('accepts any key when MOCK_OPENAI_API_KEY is empty', async () => {
    const open = await startApp({ MOCK_OPENAI_API_KEY: '' });
    try {
      await open.http().post('/v1/embeddings').set('Authorization', 'Bearer anything').send({ model: SMALL, input: 'x' }).expect(200);
      await open.http().post('/v1/embeddings').send({ model: SMALL, input: 'x' }).expect(401);
    } finally {
      await open.close();
    }
  });
});
