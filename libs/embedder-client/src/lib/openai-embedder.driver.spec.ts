import { BreakerRegistry, CircuitBreakerModule, ServicePolicy } from '@app/circuit-breaker';
import { BreakerOpenError, PermanentError, TransientError } from '@app/errors';
import { withCorrelation } from '@app/observability';
import { Test } from '@nestjs/testing';
import { IncomingHttpHeaders, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { EMBEDDER, Embedder } from './embedder.interface';
import { EmbedderModule } from './embedder.module';
import { OpenAiEmbedder } from './openai-embedder.driver';
import { BudgetClock, TokenRateBudget } from './token-rate-budget';

interface Call {
  path: string;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown> | undefined;
  at: number;
}

/** Plays OpenAI's wire format for the case at hand; `reply` decides each answer. */
async function fakeOpenAi(reply: (call: Call, res: ServerResponse, n: number) => void) {
  const calls: Call[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const call = { path: req.url ?? '', headers: req.headers, json: raw ? JSON.parse(raw) : undefined, at: Date.now() };
      calls.push(call);
      reply(call, res, calls.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return { baseUrl, calls, close };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const apiError = (message: string, type: string, code: string | null) => ({ error: { message, type, param: null, code } });

/** Vector i of a fake model: exactly representable in float32, so base64 round-trips are exact. */
const vec = (i: number, dims: number) => Array.from({ length: dims }, (_, k) => (i + 1) / 4 + k / 8);
/** What the driver gives for vector i: float32s (off the JavaScript heap). */
const f32 = (i: number, dims: number) => new Float32Array(vec(i, dims));

function embeddingsOk(call: Call, res: ServerResponse, dims = 4, shuffle = true) {
  const input = call.json?.['input'] as string[];
  const base64 = call.json?.['encoding_format'] === 'base64';
  const data = input.map((_, i) => ({
    object: 'embedding',
    index: i,
    embedding: base64 ? Buffer.from(new Float32Array(vec(i, dims)).buffer).toString('base64') : vec(i, dims),
  }));
  if (shuffle) data.reverse();
  send(res, 200, {
    object: 'list',
    data,
    model: call.json?.['model'],
    usage: { prompt_tokens: input.length * 3, total_tokens: input.length * 3 },
  });
}

const policy = (opts: ConstructorParameters<typeof ServicePolicy>[1] = {}) =>
  new ServicePolicy('embedder', { initialDelayMs: 1, maxDelayMs: 2, random: () => 0, maxAttempts: 3, ...opts });

describe('OpenAiEmbedder (wire)', () => {
  let up: Awaited<ReturnType<typeof fakeOpenAi>> | undefined;
  afterEach(async () => {
    await up?.close();
    up = undefined;
  });

  const embedder = (p = policy(), extra: Partial<ConstructorParameters<typeof OpenAiEmbedder>[0]> = {}, budget?: TokenRateBudget) =>
    new OpenAiEmbedder(
      { baseUrl: up?.baseUrl, apiKey: 'sk-test', model: 'text-embedding-3-small', dimensions: 4, timeoutMs: 2_000, ...extra },
      p,
      budget,
    );

  it('sends model, inputs, dimensions and the key; returns vectors in input order (base64 wire)', async () => {
    up = await fakeOpenAi((call, res) => embeddingsOk(call, res));
    const e = embedder();
    const out = await e.embed(['alpha', 'beta', 'gamma']);
    expect(out).toEqual({ vectors: [f32(0, 4), f32(1, 4), f32(2, 4)], promptTokens: 9, model: 'text-embedding-3-small' });
    const call = up.calls[0];
    expect(call.path).toBe('/v1/embeddings');
    expect(call.headers.authorization).toBe('Bearer sk-test');
    expect(call.json).toMatchObject({ model: 'text-embedding-3-small', input: ['alpha', 'beta', 'gamma'], dimensions: 4, encoding_format: 'base64' });
    expect(e).toMatchObject({ model: 'text-embedding-3-small', dimensions: 4, maxInputTokens: 8191, maxInputs: 2048, maxTokensPerRequest: 300_000 });
    expect(e.countTokens('hello world')).toBe(2);
  });

  it('forModel asks for another model and size on the same breaker and budget; its own model returns itself', async () => {
    up = await fakeOpenAi((call, res) => embeddingsOk(call, res, Number(call.json?.['dimensions'] ?? 4)));
    const budget = new TokenRateBudget(1_000_000);
    const p = policy();
    const e = embedder(p, {}, budget);
    expect(e.forModel('text-embedding-3-small', 4)).toBe(e);
    const large = e.forModel('text-embedding-3-large', 6);
    expect(e.forModel('text-embedding-3-large', 6)).toBe(large);
    expect(large.forModel('text-embedding-3-small', 4)).not.toBe(large);
    expect(large).toMatchObject({ model: 'text-embedding-3-large', dimensions: 6, budget });
    const out = await large.embed(['alpha']);
    expect(out.vectors).toEqual([f32(0, 6)]);
    expect(up.calls[0].json).toMatchObject({ model: 'text-embedding-3-large', dimensions: 6 });
  });

  it('understands float vectors and can omit dimensions', async () => {
    up = await fakeOpenAi((call, res) => embeddingsOk(call, res));
    const out = await embedder(policy(), { encodingFormat: 'float', sendDimensions: false }).embed(['x']);
    expect(out.vectors).toEqual([f32(0, 4)]);
    expect(up.calls[0].json).not.toHaveProperty('dimensions');
    expect(up.calls[0].json?.['encoding_format']).toBe('float');
  });

  it('does not call the API for no inputs; rejects empty strings and too many inputs permanently', async () => {
    up = await fakeOpenAi((call, res) => embeddingsOk(call, res));
    const e = embedder(policy(), { maxInputs: 2 });
    await expect(e.embed([])).resolves.toEqual({ vectors: [], promptTokens: 0, model: 'text-embedding-3-small' });
    await expect(e.embed(['a', ''])).rejects.toMatchObject({ kind: 'permanent', code: 'empty_input' });
    await expect(e.embed(['a', 'b', 'c'])).rejects.toMatchObject({ kind: 'permanent', code: 'too_many_inputs' });
    expect(up.calls).toHaveLength(0);
  });

  it('retries a 500 burst and then succeeds', async () => {
    up = await fakeOpenAi((call, res, n) =>
      n <= 2 ? send(res, 500, apiError('The server had an error', 'server_error', null)) : embeddingsOk(call, res),
    );
    const out = await embedder(policy({ maxAttempts: 3 })).embed(['a']);
    expect(out.vectors).toEqual([f32(0, 4)]);
    expect(up.calls).toHaveLength(3);
  });

  it('honours retry-after on 429 rate limits', async () => {
    up = await fakeOpenAi((call, res, n) =>
      n === 1
        ? send(res, 429, apiError('Rate limit reached', 'requests', 'rate_limit_exceeded'), { 'retry-after': '0.1', 'x-ratelimit-remaining-tokens': '0' })
        : embeddingsOk(call, res),
    );
    await embedder(policy({ maxAttempts: 2 })).embed(['a']);
    expect(up.calls).toHaveLength(2);
    expect(up.calls[1].at - up.calls[0].at).toBeGreaterThanOrEqual(90);
  });

  it('a persistent 429 ends as TransientError with retryAfterMs (retry-after-ms preferred)', async () => {
    up = await fakeOpenAi((_call, res) =>
      send(res, 429, apiError('Rate limit reached', 'tokens', 'rate_limit_exceeded'), { 'retry-after-ms': '5', 'retry-after': '1' }),
    );
    const err = await embedder(policy({ maxAttempts: 2 })).embed(['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryAfterMs: 5, service: 'embedder' });
    expect(up.calls).toHaveLength(2);
  });

  it('429 insufficient_quota is permanent and not retried', async () => {
    up = await fakeOpenAi((_call, res) =>
      send(res, 429, apiError('You exceeded your current quota', 'insufficient_quota', 'insufficient_quota'), { 'retry-after': '0' }),
    );
    const p = policy({ maxAttempts: 3, breaker: { kind: 'consecutive', threshold: 1 } });
    const err = await embedder(p).embed(['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'insufficient_quota', status: 429 });
    expect(up.calls).toHaveLength(1);
    expect(p.status().state).toBe('closed');
  });

  it('a 400 is permanent, not retried, and does not open the breaker', async () => {
    up = await fakeOpenAi((_call, res) =>
      send(res, 400, apiError("'$.input' is invalid.", 'invalid_request_error', null)),
    );
    const p = policy({ maxAttempts: 3, breaker: { kind: 'consecutive', threshold: 1 } });
    const err = await embedder(p).embed(['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'http_400', status: 400 });
    expect((err as Error).message).toContain('is invalid');
    expect(up.calls).toHaveLength(1);
    expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('a response slower than the timeout is a transient timeout', async () => {
    up = await fakeOpenAi((call, res) => {
      const t = setTimeout(() => embeddingsOk(call, res), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const err = await embedder(policy({ maxAttempts: 1 }), { timeoutMs: 50 }).embed(['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'timeout', service: 'embedder' });
  });

  it('connection refused is transient', async () => {
    const s = await fakeOpenAi((call, res) => embeddingsOk(call, res));
    await s.close();
    const e = new OpenAiEmbedder({ baseUrl: s.baseUrl, apiKey: 'k', dimensions: 4 }, policy({ maxAttempts: 2 }));
    const err = await e.embed(['a']).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', service: 'embedder' });
  });

  it('the breaker opens after a 503 burst and then fails fast without calling', async () => {
    up = await fakeOpenAi((_call, res) => send(res, 503, apiError('overloaded', 'server_error', null)));
    const p = policy({ maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 3 }, halfOpenAfterMs: 60_000 });
    const e = embedder(p);
    for (let i = 0; i < 3; i++) await expect(e.embed(['a'])).rejects.toMatchObject({ kind: 'transient', code: 'http_503' });
    expect(p.status().state).toBe('open');
    await expect(e.embed(['a'])).rejects.toBeInstanceOf(BreakerOpenError);
    expect(up.calls).toHaveLength(3);
  });

  it("one document's 503s count once toward the breaker (inputKey), other documents' count", async () => {
    up = await fakeOpenAi((_call, res) => send(res, 503, apiError('overloaded', 'server_error', null)));
    const p = policy({ maxAttempts: 2, breaker: { kind: 'consecutive', threshold: 3 }, halfOpenAfterMs: 60_000 });
    const e = embedder(p);
    for (let i = 0; i < 4; i++) await expect(e.embed(['poison'], { inputKey: 'doc-1' })).rejects.toMatchObject({ code: 'http_503' });
    expect(up.calls).toHaveLength(8); // still retried in-process
    expect(p.status()).toMatchObject({ state: 'closed', failures: 1 });
    await expect(e.embed(['a'], { inputKey: 'doc-2' })).rejects.toMatchObject({ code: 'http_503' });
    // doc-3's first 503 is the third input counted: the breaker opens and its retry fails fast
    await expect(e.embed(['a'], { inputKey: 'doc-3' })).rejects.toBeInstanceOf(BreakerOpenError);
    expect(p.status().state).toBe('open');
  });

  it('with inputKeyFromCorrelation, a call without inputKey is keyed by the current correlation id', async () => {
    up = await fakeOpenAi((_call, res) => send(res, 503, apiError('overloaded', 'server_error', null)));
    const p = policy({ maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 2 }, halfOpenAfterMs: 60_000 });
    const e = embedder(p, { inputKeyFromCorrelation: true });
    for (let i = 0; i < 3; i++)
      await expect(withCorrelation('job-1', () => e.embed(['a']))).rejects.toMatchObject({ code: 'http_503' });
    expect(p.status()).toMatchObject({ state: 'closed', failures: 1 });
    expect(up.calls[0].headers['x-request-id']).toBe('job-1');
    // off (the default): every failure counts
    const q = policy({ maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 2 }, halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 2; i++)
      await expect(withCorrelation('job-1', () => embedder(q).embed(['a']))).rejects.toMatchObject({ code: 'http_503' });
    expect(q.status().state).toBe('open');
  });

  it('rejects vectors of the wrong size and a wrong number of embeddings', async () => {
    let dims = 3;
    up = await fakeOpenAi((call, res, n) => {
      if (n === 1) return embeddingsOk(call, res, dims);
      send(res, 200, { object: 'list', data: [], model: 'm', usage: { prompt_tokens: 1, total_tokens: 1 } });
    });
    const e = embedder(policy({ maxAttempts: 1 }));
    await expect(e.embed(['a'])).rejects.toMatchObject({ kind: 'permanent', code: 'dimension_mismatch' });
    dims = 4;
    await expect(e.embed(['a'])).rejects.toMatchObject({ kind: 'permanent', code: 'bad_response' });
  });

  it('charges the token budget before calling and waits when it is spent', async () => {
    up = await fakeOpenAi((call, res) => embeddingsOk(call, res));
    let now = 0;
    const wakeups: (() => void)[] = [];
    const clock: BudgetClock = { now: () => now, sleep: () => new Promise<void>((r) => wakeups.push(r)) };
    const budget = new TokenRateBudget(100, { clock });
    const e = embedder(policy(), {}, budget);
    await e.embed(['hello world'], { tokens: 99 });
    expect(budget.available()).toBe(1);
    let done = false;
    const second = e.embed(['hello world']).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(up.calls).toHaveLength(1);
    now += 60_000;
    wakeups.forEach((w) => w());
    await second;
    expect(up.calls).toHaveLength(2);
    expect(budget.available()).toBe(98); // counted itself: "hello world" is 2 tokens
  });

  it('ping lists models; bad credentials are permanent', async () => {
    let status = 200;
    up = await fakeOpenAi((_call, res) =>
      status === 200
        ? send(res, 200, { object: 'list', data: [{ id: 'text-embedding-3-small', object: 'model', created: 0, owned_by: 'x' }] })
        : send(res, status, apiError('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key')),
    );
    const e = embedder();
    await expect(e.ping()).resolves.toBeUndefined();
    expect(up.calls[0].path).toBe('/v1/models');
    status = 401;
    await expect(e.ping()).rejects.toMatchObject({ kind: 'permanent', code: 'invalid_api_key', status: 401 });
  });
});

describe('EmbedderModule', () => {
  it('provides EMBEDDER on the registry `embedder` breaker', async () => {
    const up = await fakeOpenAi((_call, res) => send(res, 502, apiError('bad gateway', 'server_error', null)));
    try {
      const mod = await Test.createTestingModule({
        imports: [
          CircuitBreakerModule.forRoot({ services: { embedder: { maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 2 } } } }),
          EmbedderModule.forRoot({ driver: 'openai', baseUrl: up.baseUrl, apiKey: 'k', model: 'm', dimensions: 8, timeoutMs: 1_000, tokensPerMinute: 1_000_000 }),
        ],
      }).compile();
      const e = mod.get<Embedder>(EMBEDDER);
      expect(e).toBeInstanceOf(OpenAiEmbedder);
      expect((e as OpenAiEmbedder).budget?.tokensPerMinute).toBe(1_000_000);
      expect(e.dimensions).toBe(8);
      for (let i = 0; i < 2; i++) await e.embed(['a']).catch(() => undefined);
      expect(mod.get(BreakerRegistry).states()).toEqual([expect.objectContaining({ name: 'embedder', state: 'open' })]);
      await mod.close();
    } finally {
      await up.close();
    }
  });
});
