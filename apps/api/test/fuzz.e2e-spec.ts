import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { signWebhook } from '@app/jobs';
import { ApiHarness, pathOf, sha256, startApi, tinyPdf } from './api-harness';
import { describeRequest, FuzzClient, RawRequest, RawResponse } from '@app/testing';

/**
 * Property-based fuzzing of every api route: whatever arrives (JSON of any shape and type, raw bytes
 * that are not UTF-8, any content type or encoding, odd headers, traversal and encoded paths, bodies
 * over the limit, broken multipart), the answer is never a 5xx, every error is the one error shape, and
 * the app is still alive afterwards. Each target runs RUNS generated cases with a per-request timeout.
 */
const RUNS = 1000;
/** A bound for a target's RUNS cases, far above what they take; a hang shows up as a per-request timeout first. */
const TEST_TIMEOUT_MS = 30_000;
const BODY_LIMIT = 1024 * 1024; // applyHttpDefaults(app, { bodyLimit: '1mb' })

interface Route {
  method: string;
  /** Express-style template, `/api/v2/jobs/:id`. */
  path: string;
}

/** The error shape of our services, checked strictly; throws with the request and response when it does not hold. */
function checkAnswer(req: RawRequest, res: RawResponse): void {
  const fail = (why: string) => {
    throw new Error(`${why}\n  request: ${describeRequest(req)}\n  response: ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
  };
  // The one 5xx that is not about the input: search's embedder is deliberately unreachable here (see beforeAll).
  const embedderDown = res.status === 503 && req.path.startsWith('/api/v2/search') && res.body.includes('"embedder_unavailable"');
  if (res.status >= 500 && !embedderDown) fail(`a ${res.status} for client input`);
  if (res.status < 400 || req.method === 'HEAD') return;
  if (!String(res.headers['content-type']).startsWith('application/json')) fail('an error that is not JSON');
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    return fail('an error body that does not parse');
  }
  const top = body as Record<string, unknown>;
  if (typeof top !== 'object' || top === null || Object.keys(top).join() !== 'error') return fail('not {error: ...}');
  const e = top['error'] as Record<string, unknown>;
  const keys = Object.keys(e).sort().join();
  if (keys !== 'code,message,request_id,status' && keys !== 'code,details,message,request_id,status') fail(`error keys ${keys}`);
  if (e['status'] !== res.status) fail('error.status differs from the HTTP status');
  if (typeof e['code'] !== 'string' || !/^[a-z][a-z0-9_]*$/.test(e['code'])) fail('error.code is not snake_case');
  if (typeof e['message'] !== 'string' || e['message'] === '') fail('error.message is empty');
  if (typeof e['request_id'] !== 'string' || e['request_id'] !== res.headers['x-request-id']) fail('error.request_id is not the x-request-id');
}

// ---- generators ----------------------------------------------------------------------------------

/** Path segments that probe decoding, traversal and routing. */
const nastySegment = fc.oneof(
  fc.constantFrom(
    '..', '.', '%2e%2e', '%2E%2E%2F', '..%2f', '..%5c', '%252e%252e', '%c0%ae%c0%ae', '%e0%80%ae', '%00', '%ff', '%', '%%', '%zz',
    '%E0%A4%A', '~', '%7e', 'docs', 'api', 'v2', 'jobs', 'upload', 'retry', 'storage', 'webhooks', 'llamaparse', 'health',
    'metrics', 'documents', 'search', 'openapi.json', '%20', '+', ';', ',', '*', '$', '@', ':', '!', "'", '(', ')',
  ),
  fc.uuid(),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => encodeURIComponent(s).replace(/%2F/g, '/')),
  fc.integer({ min: 200, max: 3000 }).map((n) => 'a'.repeat(n)),
);

const queryString = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom('limit', 'cursor', 'state', 'stage', 'limit[]', 'state[$ne]', 'key', 'sig', 'expires', 'size', 'sha256', '__proto__', 'constructor'), fc.string({ maxLength: 10 }).map(encodeURIComponent)),
        fc.oneof(fc.constantFrom('', '0', '-1', '1e9', 'NaN', '%ff', '%00', 'null', 'done', 'queued', 'x'.repeat(300)), fc.string({ maxLength: 30 }).map(encodeURIComponent)),
      ),
      { maxLength: 6 },
    )
    .map((kv) => `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`),
);

/** A route template with its `:params` filled by ids, junk and traversal. */
const concretePath = (routes: Route[]) =>
  fc
    .tuple(fc.constantFrom(...routes), fc.array(nastySegment, { minLength: 4, maxLength: 4 }), queryString)
    .map(([r, fills, q]) => {
      let i = 0;
      return r.path.replace(/:[A-Za-z]+/g, () => fills[i++ % fills.length]) + q;
    });

/** Values of every JSON type, with the upload fields often present but wrong. */
const wrongValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, '', ' ', '\u0000', '../x', 'a/b', 'NaN', 'Infinity', [], {}, [null], { $ne: null }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.integer({ min: 256, max: 8_000 }).map((n) => 'x'.repeat(n)),
  fc.jsonValue({ maxDepth: 3 }),
);
const validUpload = fc.record({
  filename: fc.oneof(fc.constantFrom('a.pdf', 'r.txt', 'notes.md'), fc.string({ minLength: 1, maxLength: 255 })),
  bytes_len: fc.integer({ min: 1, max: 30 * 1024 * 1024 }),
  mime: fc.constantFrom('application/pdf', 'text/plain', 'text/markdown', 'text/html', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'),
  sha256: fc.stringMatching(/^[0-9a-fA-F]{64}$/),
  ocr: fc.boolean(),
});
const uploadLike = fc
  .tuple(validUpload, fc.dictionary(fc.constantFrom('filename', 'bytes_len', 'mime', 'sha256', 'ocr', 'admin', '__proto__', 'constructor', 'user_id'), wrongValue, { maxKeys: 3 }), fc.boolean())
  .map(([valid, wrong, drop]) => {
    const out: Record<string, unknown> = { ...valid };
    if (drop) delete out['mime'];
    for (const [k, v] of Object.entries(wrong)) Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
    return JSON.stringify(out);
  });
/** A JSON text that prints as its recipe in a counterexample (a 20,000-deep body would flood the report). */
class JsonText {
  constructor(
    readonly text: string,
    private readonly recipe: string,
  ) {}
  [fc.toStringMethod](): string {
    return this.recipe;
  }
}
/** Deep nesting, alone or as the value of a field the DTO knows. */
const deepJson = fc
  .tuple(fc.integer({ min: 10, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.constantFrom('', 'filename', 'bytes_len', 'query', 'x'))
  .map(([depth, open, field]) => {
    const close = open === '[' ? ']' : '}';
    const nest = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return new JsonText(field ? `{"${field}":${nest}}` : nest, `deep(${depth} x ${open}${field ? ` in ${field}` : ''})`);
  });
const anyJson: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: uploadLike },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: deepJson.map((j) => j.text) },
  { weight: 1, arbitrary: fc.record({ query: wrongValue, top_k: wrongValue }, { requiredKeys: [] }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) }, // not JSON at all
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json; charset=bogus',
    'application/vnd.api+json',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    'text/plain',
    'text/html',
    'application/pdf',
    'multipart/form-data',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data; boundary=',
    '*/*',
    'application/',
    ';;;',
    'application/json; boundary=x; charset=utf-8; charset=ascii',
  ),
  fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9.+-]{1,20}(; ?[a-z]{1,8}=[a-z0-9-]{0,10})?$/),
);

/** A header value Node will send (visible ASCII and spaces; Node refuses control characters itself). */
const headerValue = fc.oneof(fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,80}[\x21-\x7e])?$/), fc.constantFrom('', ' ', 'null', 'undefined', '0', '-1'));
const randomHeaders = (token: string) =>
  fc
    .tuple(
      fc.option(fc.oneof(fc.constant(`Bearer ${token}`), fc.constantFrom('Bearer', 'Bearer  ', 'Basic Zm9vOmJhcg==', `bearer ${token}`, `Bearer ${token}x`, `Bearer ${token} ${token}`), headerValue)),
      fc.option(contentType),
      fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'bogus', 'gzip, gzip')),
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('x-request-id', 'accept', 'accept-encoding', 'accept-charset', 'range', 'if-none-match', 'if-modified-since', 'cookie', 'x-forwarded-for', 'x-forwarded-proto', 'x-http-method-override', 'x-webhook-signature', 'origin', 'referer', 'user-agent'),
          fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
        ),
        headerValue,
        { maxKeys: 5 },
      ),
    )
    .map(([auth, ct, enc, extra]) => {
      const h: Record<string, string> = { ...extra };
      if (auth !== null) h['authorization'] = auth;
      if (ct !== null) h['content-type'] = ct;
      if (enc !== null) h['content-encoding'] = enc;
      return h;
    });

/** Multipart bodies that are broken in every way a parser can meet. */
const brokenMultipart = fc
  .tuple(
    fc.constantFrom('xyz', 'a'.repeat(70), '-', '"quoted"', ''),
    fc.constantFrom(
      (b: string) => `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4`,
      (b: string) => `--${b}\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--${b}`,
      (b: string) => `--${b}--`,
      (b: string) => `--${b}\r\n\r\n\r\n--${b}--\r\n`,
      (b: string) => `--${b}\r\nContent-Disposition: form-data; name=\r\n\r\nv\r\n--${b}--\r\n`,
      (b: string) => `garbage before --${b}\r\nContent-Type: text/plain\r\n\r\nv\r\n--${b}--\r\n`,
      (b: string) => `--${b}\r\nContent-Disposition: form-data; name="filename"\r\n\r\n${'x'.repeat(5000)}\r\n--${b}--\r\n`,
      (b: string) => `--${b}\r\nContent-Disposition: form-data; name="filename"; filename*=UTF-8''%ff%fe\r\n\r\n\u0000\r\n--${b}--\r\n`,
    ),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([boundary, make, tail]) => ({ boundary, body: Buffer.concat([Buffer.from(make(boundary), 'utf8'), Buffer.from(tail)]) }));

// ---- the tests -------------------------------------------------------------------------------------

describe('api fuzzing (fast-check): never a 5xx, always the error shape, always alive', () => {
  let h: ApiHarness;
  let client: FuzzClient;
  let token: string;
  let routes: Route[];
  let jsonRoutes: Route[];

  beforeAll(async () => {
    // No embedder (port 9, discard): a valid search query answers 503 embedder_unavailable, whatever runs on
    // this machine's default 8002; everything else the api does is here for real.
    h = await startApi({ UPLOAD_RATE_LIMIT: '100000000', LOG_LEVEL: 'silent', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', EMBEDDER_TIMEOUT_MS: '1000' });
    const addr = (h.app.getHttpServer() as { address(): { port: number } }).address();
    client = new FuzzClient(addr.port);
    token = h.token(randomUUID());
    // every documented operation (new ones are fuzzed automatically) plus the undocumented routes
    const doc = JSON.parse((await client.send({ method: 'GET', path: '/docs/openapi.json' })).body.toString('utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => ({ method: m.toUpperCase(), path: p.replace(/\{([^}]+)\}/g, ':$1') })),
    );
    routes = [
      ...documented,
      { method: 'PUT', path: '/api/v2/storage/upload' },
      { method: 'POST', path: '/webhooks/llamaparse/:jobId' },
      { method: 'GET', path: '/metrics' },
      { method: 'GET', path: '/docs/openapi.json' },
      { method: 'GET', path: '/docs/:file' },
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/app.js' },
    ];
    jsonRoutes = routes.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    expect(documented.length).toBeGreaterThanOrEqual(5);
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
  });
  afterEach(async () => {
    const live = await client.send({ method: 'GET', path: '/health/live' });
    expect(live.status).toBe(200);
  });

  const run = async (req: RawRequest) => checkAnswer(req, await client.send(req));
  const opts = { numRuns: RUNS, endOnFailure: true } as const;

  it('regression: a body nested thousands of levels deep is a 400, not a 500 (class-transformer overflowed the stack)', async () => {
    for (const depth of [33, 2_000, 100_000]) {
      for (const body of [`{"filename":${'['.repeat(depth)}${']'.repeat(depth)}}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`]) {
        const req = { method: 'POST', path: '/api/v2/upload', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: Buffer.from(body) };
        const res = await client.send(req);
        checkAnswer(req, res);
        expect(res.status).toBe(400);
      }
    }
    const shallow = `{"filename":${'['.repeat(30)}${']'.repeat(30)}}`; // within the limit: the usual field errors
    const res = await client.send({ method: 'POST', path: '/api/v2/upload', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: Buffer.from(shallow) });
    expect(JSON.parse(res.body.toString()).error.code).toBe('validation_failed');
  });

  it('random JSON bodies (wrong types, unknown fields, deep nesting, unicode, not JSON) on every route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        concretePath(jsonRoutes),
        anyJson,
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/merge-patch+json'),
        fc.boolean(),
        async (route, altPath, json, ct, useRoutePath) => {
          const path = useRoutePath ? route.path.replace(/:[A-Za-z]+/g, randomUUID()) : altPath;
          const method = useRoutePath ? route.method : 'POST';
          await run({ method, path, headers: { authorization: `Bearer ${token}`, 'content-type': ct }, body: Buffer.from(json, 'utf8') });
        },
      ),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('raw bytes (invalid UTF-8 included) with any content type and encoding', async () => {
    await fc.assert(
      fc.asyncProperty(
        concretePath(routes),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
          fc.constantFrom(Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from([0xc0, 0xae]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('{"filename":"\xff\xfe"}', 'latin1'), Buffer.from('\ufeff{}', 'utf8')),
        ),
        randomHeaders(''),
        async (path, method, body, headers) => {
          headers['authorization'] = `Bearer ${token}`;
          await run({ method, path, headers, body });
        },
      ),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('random headers (auth variants, content types, encodings, ids, overrides) on every route', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), randomHeaders('TOKEN'), anyJson, async (route, headers, json) => {
        if (headers['authorization']) headers['authorization'] = headers['authorization'].replace(/TOKEN/g, token);
        const path = route.path.replace(/:[A-Za-z]+/g, randomUUID());
        const withBody = route.method !== 'GET';
        await run({ method: route.method, path, headers, body: withBody ? Buffer.from(json) : undefined });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('random paths: traversal, encoded and overlong sequences, odd methods and queries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          concretePath(routes),
          fc.array(nastySegment, { minLength: 1, maxLength: 8 }).chain((segs) => queryString.map((q) => `/${segs.join('/')}${q}`)),
          fc.constantFrom('/docs/../../../etc/passwd', '/docs/%2e%2e/%2e%2e/package.json', '/docs/..%2f..%2fpackage.json', '//api/v2/jobs', '/api/v2/jobs/', '/API/V2/JOBS', '/api/v2/jobs/%', '/api/v2/jobs/%E0%A4%A', '/docs/%00', '/docs-yaml', '/docs/swagger-ui-bundle.js/..%2f..%2f'),
        ),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        fc.boolean(),
        async (path, method, auth) => {
          await run({ method, path, headers: auth ? { authorization: `Bearer ${token}` } : {} });
        },
      ),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('bodies over the 1 MB limit are 413 in the error shape', async () => {
    const big = Buffer.alloc(BODY_LIMIT + 70_000, 0x20);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...jsonRoutes),
        fc.integer({ min: 1, max: 65_536 }),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'),
        async (route, over, ct) => {
          const req: RawRequest = {
            method: route.method,
            path: route.path.replace(/:[A-Za-z]+/g, randomUUID()),
            headers: { authorization: `Bearer ${token}`, 'content-type': ct },
            body: big.subarray(0, BODY_LIMIT + over),
          };
          const res = await client.send(req);
          checkAnswer(req, res);
          if (res.status !== 413) throw new Error(`expected 413, got ${res.status} for ${describeRequest(req)}`);
        },
      ),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('signed routes with valid credentials and random bytes: upload PUTs and webhooks', async () => {
    // one document waiting for its bytes, one job waiting for its parser webhook
    const pdf = tinyPdf('fuzz signed');
    const created = await client.send({
      method: 'POST',
      path: '/api/v2/upload',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ filename: 'f.pdf', bytes_len: pdf.length, mime: 'application/pdf', sha256: sha256(pdf) })),
    });
    const up = JSON.parse(created.body.toString()) as { signed_url: string; job_id: string };
    const putPath = pathOf(up.signed_url);
    const other = tinyPdf('fuzz webhook');
    const hookJob = JSON.parse(
      (
        await client.send({
          method: 'POST',
          path: '/api/v2/upload',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify({ filename: 'w.pdf', bytes_len: other.length, mime: 'application/pdf', sha256: sha256(other) })),
        })
      ).body.toString(),
    ) as { job_id: string };
    const ds = h.app.get(DataSource);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'p-fuzz' WHERE job_id = $1`, [hookJob.job_id]);
    const [{ webhook_secret: secret }] = (await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [hookJob.job_id])) as { webhook_secret: string }[];

    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
          fc.integer({ min: 0, max: pdf.length * 2 }).map((n) => Buffer.concat([pdf, pdf]).subarray(0, n)),
          fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
          fc.record({ id: fc.oneof(fc.constant('p-fuzz'), fc.string()), status: fc.oneof(fc.constantFrom('SUCCESS', 'ERROR'), fc.jsonValue()) }).map((v) => Buffer.from(JSON.stringify(v))),
        ),
        fc.constantFrom('application/pdf', 'application/json', 'application/octet-stream', 'text/plain', 'application/pdf; charset=utf-8', 'APPLICATION/PDF'),
        fc.boolean(),
        async (body, ct, toWebhook) => {
          if (toWebhook) {
            const path = `/webhooks/llamaparse/${hookJob.job_id}`;
            await run({ method: 'POST', path, headers: { 'content-type': ct, 'x-webhook-signature': signWebhook(secret, body) }, body });
          } else {
            await run({ method: 'PUT', path: putPath, headers: { 'content-type': ct }, body });
          }
        },
      ),
      opts,
    );
    // the document still takes its real bytes afterwards
    const done = await client.send({ method: 'PUT', path: putPath, headers: { 'content-type': 'application/pdf' }, body: pdf });
    expect(done.status).toBe(200);
  }, TEST_TIMEOUT_MS);

  it('malformed multipart bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), brokenMultipart, fc.boolean(), async (route, mp, auth) => {
        await run({
          method: route.method === 'GET' ? 'POST' : route.method,
          path: route.path.replace(/:[A-Za-z]+/g, randomUUID()),
          headers: { 'content-type': `multipart/form-data; boundary=${mp.boundary}`, ...(auth ? { authorization: `Bearer ${token}` } : {}) },
          body: mp.body,
        });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);
});
