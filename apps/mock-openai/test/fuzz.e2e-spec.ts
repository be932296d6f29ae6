import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { loadConfig } from '@app/config';
import { FuzzClient, RawRequest as Sent, RawResponse as Answer } from '@app/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig } from '../src/app.config';
import { createApp } from '../src/app.factory';
import { API_KEY, SMALL } from './helpers';

/**
 * Property-based fuzzing of mock-openai over real HTTP: any body, bytes, header, path or size gets a
 * non-5xx answer, every error is OpenAI's `{error:{message,type,param,code}}`, and the app stays up.
 * Each target runs RUNS generated cases; every request has a hard timeout.
 */
const RUNS = 1000;
const TEST_TIMEOUT_MS = 30_000;
const BODY_LIMIT = 64 * 1024; // MOCK_OPENAI_BODY_LIMIT for this app, so oversized cases stay cheap

let client: FuzzClient;
const send = (r: Sent): Promise<Answer> => client.send(r);

/** Never a 5xx; an error is exactly OpenAI's shape (health answers keep terminus's JSON). */
function check(r: Sent, a: Answer): void {
  const fail = (why: string): never => {
    const body = r.body ? ` body(${r.body.length}) ${JSON.stringify(r.body.subarray(0, 100).toString('latin1'))}` : '';
    throw new Error(`${why}\n  ${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 200)}${body}\n  -> ${a.status} ${a.body.toString().slice(0, 300)}`);
  };
  if (a.status >= 500) fail(`a ${a.status} for client input`);
  if (a.status < 400 || r.method === 'HEAD' || r.path.startsWith('/health')) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.body.toString('utf8'));
  } catch {
    fail('an error body that is not JSON');
  }
  const top = parsed as Record<string, unknown>;
  if (typeof top !== 'object' || top === null || Object.keys(top).join() !== 'error') fail('not {error: ...}');
  const e = top['error'] as Record<string, unknown>;
  if (Object.keys(e).sort().join() !== 'code,message,param,type') fail(`error keys ${Object.keys(e).join()}`);
  if (typeof e['message'] !== 'string' || e['message'] === '') fail('error.message is not a non-empty string');
  if (typeof e['type'] !== 'string' || e['type'] === '') fail('error.type is not a string');
  for (const k of ['param', 'code']) if (e[k] !== null && typeof e[k] !== 'string') fail(`error.${k} is neither a string nor null`);
}

// ---- generators ----------------------------------------------------------------------------------

const ROUTES: [string, string][] = [
  ['POST', '/v1/embeddings'],
  ['GET', '/v1/models'],
  ['GET', '/v1/models/:id'],
  ['GET', '/_mock/config'],
  ['PUT', '/_mock/config'],
  ['GET', '/_mock/stats'],
  ['GET', '/health/live'],
  ['GET', '/health/ready'],
  ['GET', '/metrics'],
];

const segment = fc.oneof(
  fc.constantFrom('..', '%2e%2e', '..%2f', '%c0%ae', '%00', '%ff', '%', '%E0%A4%A', 'v1', 'embeddings', 'models', '_mock', 'config', SMALL, 'text-embedding-ada-002', '~'),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.integer({ min: 100, max: 3000 }).map((n) => 'm'.repeat(n)),
);
const path = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), segment).map(([[, p], s]) => p.replace(':id', s)),
  fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`),
  fc.tuple(fc.constantFrom('/v1/embeddings', '/v1/models'), fc.string({ maxLength: 30 }).map(encodeURIComponent)).map(([p, q]) => `${p}?${q}`),
);

const wrong = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, '', ' ', '\u0000', [], {}, [[]], [''], ['\ud800'], '\udfff', [-1], [1.5], [2 ** 53], [100_000_000], 'float', 'base64', 'text-embedding-3-large'),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 20 }),
  fc.array(fc.integer({ min: -5, max: 200_000 }), { maxLength: 40 }),
  fc.array(fc.array(fc.integer({ min: 0, max: 100_300 }), { maxLength: 10 }), { maxLength: 5 }),
  fc.integer({ min: 2040, max: 2100 }).map((n) => Array.from({ length: n }, () => 'x')),
  fc.integer({ min: 8000, max: 9000 }).map((n) => ' hello'.repeat(n)),
  fc.jsonValue({ maxDepth: 4 }),
);
const embeddingsBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        { model: fc.oneof(fc.constant(SMALL), wrong), input: wrong, dimensions: fc.oneof(fc.integer({ min: -2, max: 4000 }), wrong), encoding_format: fc.oneof(fc.constantFrom('float', 'base64'), wrong), user: wrong, extra: wrong },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 20_000 }).map((d) => `{"model":"${SMALL}","input":${'['.repeat(d)}${']'.repeat(d)}}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);
const configPatch = fc
  .record(
    { latencyMs: wrong, errorRate: fc.oneof(fc.double(), wrong), rateLimitRate: wrong, timeoutRate: wrong, timeoutMs: wrong, retryAfterMs: wrong, seed: wrong, quotaExhausted: wrong, tpm: wrong, rpm: wrong, bogus: wrong },
    { requiredKeys: [] },
  )
  .map((v) => JSON.stringify(v));

const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,60}[\x21-\x7e])?$/);
const contentType = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/vnd.x+json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/octet-stream', '*/*', ';'),
  fc.stringMatching(/^[a-z]{1,8}\/[a-z+.-]{1,12}$/),
);
const headers = fc
  .tuple(
    fc.option(fc.oneof(fc.constantFrom(`Bearer ${API_KEY}`, 'Bearer', 'Bearer wrong', `bearer   ${API_KEY}  `, `Basic ${API_KEY}`, `Bearer ${API_KEY} extra`), headerValue)),
    fc.option(contentType),
    fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus')),
    fc.dictionary(fc.constantFrom('openai-organization', 'openai-project', 'x-request-id', 'accept', 'user-agent', 'x-stainless-retry-count', 'idempotency-key'), headerValue, { maxKeys: 3 }),
  )
  .map(([auth, ct, enc, extra]) => ({
    ...extra,
    ...(auth === null ? {} : { authorization: auth }),
    ...(ct === null ? {} : { 'content-type': ct }),
    ...(enc === null ? {} : { 'content-encoding': enc }),
  }));

// ---- the tests -------------------------------------------------------------------------------------

describe('mock-openai fuzzing (fast-check): never a 5xx, always OpenAI error shape, always alive', () => {
  let app: NestExpressApplication;

  beforeAll(async () => {
    const config = loadConfig(AppConfig, { MOCK_OPENAI_API_KEY: API_KEY, MOCK_OPENAI_BODY_LIMIT: `${BODY_LIMIT}b` });
    app = await createApp(config, { logger: false });
    await app.listen(0, '127.0.0.1');
    client = new FuzzClient((app.getHttpServer().address() as AddressInfo).port);
  });
  afterAll(async () => {
    client.close();
    await app?.close();
  });
  afterEach(async () => {
    // the app is alive, and no fuzzed PUT left a fault switched on
    expect((await send({ method: 'GET', path: '/health/live', headers: {} })).status).toBe(200);
    expect((await send({ method: 'DELETE', path: '/_mock/config', headers: {} })).status).toBe(200);
  });

  /** Sends, checks, and undoes a fault configuration a fuzzed PUT happened to get accepted. */
  const run = async (r: Sent) => {
    const a = await send(r);
    check(r, a);
    if (r.method === 'PUT' && r.path.startsWith('/_mock/config') && a.status === 200) await send({ method: 'DELETE', path: '/_mock/config', headers: {} });
  };
  const opts = { numRuns: RUNS, endOnFailure: true } as const;
  const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

  it('regression: PUT /_mock/config without a body or with a deeply nested one is a 400, not a 500', async () => {
    for (const body of [undefined, Buffer.from(`{"errorRate":${'['.repeat(5000)}${']'.repeat(5000)}}`), Buffer.from('[]'), Buffer.from('{"seed":{}}')]) {
      const r: Sent = { method: 'PUT', path: '/_mock/config', headers: body ? { 'content-type': 'application/json' } : {}, body };
      const a = await send(r);
      check(r, a);
      expect(a.status).toBe(400);
    }
    expect(JSON.parse((await send({ method: 'GET', path: '/_mock/config', headers: {} })).body.toString())).toMatchObject({ errorRate: 0, seed: 1 });
  });

  it('random embeddings requests: wrong types, bad tokens, too many inputs or tokens, lone surrogates, deep nesting', async () => {
    await fc.assert(
      fc.asyncProperty(embeddingsBody, async (body) => {
        await run({ method: 'POST', path: '/v1/embeddings', headers: auth, body: Buffer.from(body, 'utf8') });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('random JSON to every route, PUT /_mock/config patches included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.oneof(embeddingsBody, configPatch), segment, async ([method, p], body, s) => {
        await run({ method, path: p.replace(':id', s), headers: auth, body: method === 'GET' ? undefined : Buffer.from(body, 'utf8') });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('raw bytes (invalid UTF-8 included) with random headers, content types and encodings', async () => {
    await fc.assert(
      fc.asyncProperty(
        path,
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.oneof(fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), fc.constantFrom(Buffer.from([0xff, 0xfe]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('{"model":"\xff"}', 'latin1'))),
        headers,
        async (p, method, body, h) => {
          await run({ method, path: p, headers: h, body });
        },
      ),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('random paths and methods: traversal, encoded and overlong segments', async () => {
    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), fc.boolean(), async (p, method, withAuth) => {
        await run({ method, path: p, headers: withAuth ? { authorization: `Bearer ${API_KEY}` } : {} });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('bodies over the limit are 413 in OpenAI shape', async () => {
    const big = Buffer.alloc(BODY_LIMIT + 20_000, 0x20);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/embeddings', '/_mock/config', '/v1/models'), fc.integer({ min: 1, max: 20_000 }), async (p, over) => {
        const r: Sent = { method: p === '/v1/models' ? 'GET' : p === '/_mock/config' ? 'PUT' : 'POST', path: p, headers: auth, body: big.subarray(0, BODY_LIMIT + over) };
        const a = await send(r);
        check(r, a);
        if (a.status !== 413) throw new Error(`expected 413 for ${r.method} ${p} with ${BODY_LIMIT + over} bytes, got ${a.status}`);
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);
});
