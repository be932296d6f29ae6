import { TokenizerService } from '../src/tokenizer/tokenizer.service';
import { AUTH, SMALL, TestApp, expectOpenAIError, startApp } from './helpers';

/**
 * Poison inputs: one 200,000-character word (an inlined base64 image, a run of one letter). js-tiktoken's
 * merge is quadratic in a word's length, so such an input once kept the mock busy for hours and its health
 * check unanswered. Now it is counted like any text: answered 400 over the per-input limit, as OpenAI does,
 * or embedded when within it; the health check answers alongside.
 */
describe('POST /v1/embeddings with a 200,000-character word', () => {
  // Each request takes well under a second; the old quadratic merge took hours. A roomy timeout for a busy machine.
  jest.setTimeout(30_000);

  let t: TestApp;
  const tokenizer = new TokenizerService();

  beforeAll(async () => {
    t = await startApp();
    tokenizer.onModuleInit();
  });
  afterAll(() => t.close());

  const embed = (input: unknown) => t.http().post('/v1/embeddings').set(AUTH).send({ model: SMALL, input });
  const live = () => t.http().get('/health/live');

  const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/';
  const base64Letters = Array.from(
    { length: 200_000 },
    (_, i) => BASE64[(i * 7919 + (i >> 3)) % BASE64.length],
  ).join('');

  it.each([
    ['one repeated letter', 'a'.repeat(200_000)],
    ['base64 without digits', base64Letters],
  ])('answers 400 (input over 8192 tokens) with the exact count: %s', async (_shape, word) => {
    const tokens = tokenizer.count(word);
    expect(tokens).toBeGreaterThan(8192);
    const [res, ...health] = await Promise.all([embed(word), live(), live(), live()]);
    expect(res.status).toBe(400);
    const error = expectOpenAIError(res.body);
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBeNull();
    expect(error.param).toBeNull();
    expect(error.message).toContain(`however you requested ${tokens} tokens in 'input[0]'`);
    for (const h of health) expect(h.status).toBe(200);
    await live().expect(200);
  });

  it('embeds a 200,000-character input that is within the limit (one long whitespace run)', async () => {
    const text = `${' '.repeat(200_000)}x`; // 128 spaces are one token
    const tokens = tokenizer.count(text);
    expect(tokens).toBeLessThanOrEqual(8192);
    const [res, health] = await Promise.all([embed([text, 'hello world']), live()]);
    expect(res.status).toBe(200);
    const body = res.body as { data: unknown[]; usage: { prompt_tokens: number } };
    expect(body.data).toHaveLength(2);
    expect(body.usage.prompt_tokens).toBe(tokens + 2);
    expect(health.status).toBe(200);
  });

  it('embeds 5 such inputs in one request and keeps answering its health checks', async () => {
    const inputs = Array.from(
      { length: 5 },
      (_, i) => `${' '.repeat(200_000)}${String.fromCharCode(97 + i)}`,
    );
    const tokens = inputs.reduce((sum, s) => sum + tokenizer.count(s), 0);
    const res = await embed(inputs);
    expect(res.status).toBe(200);
    expect((res.body as { usage: { total_tokens: number } }).usage.total_tokens).toBe(tokens);
    await live().expect(200);
    await t.http().get('/health/ready').expect(200);
  });
});
