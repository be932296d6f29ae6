import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { loadConfig } from '@app/config';
import { FuzzClient, RawRequest as Sent, RawResponse as Answer } from '@app/testing';
import { INestApplication } from '@nestjs/common';
import { MockLlamaParseConfig } from '../src/app.config';
import { createApp } from '../src/app.factory';
import { loadUnpdf } from '../src/parsers/unpdf.loader';

/**
 * Property-based fuzzing of mock-llamaparse over real HTTP, malformed multipart above all: the answer
 * is never a 5xx, every error is LlamaParse's (FastAPI's) `{"detail": ...}`, background parses of
 * whatever was uploaded never take the process down, and the app still answers afterwards.
 */
const RUNS = 1000;
const TEST_TIMEOUT_MS = 45_000;
const MAX_FILE = 64 * 1024; // MOCK_LLAMAPARSE_MAX_FILE_BYTES for this app: oversized cases stay cheap
const JSON_LIMIT = 100 * 1024; // Nest's default JSON body limit

let client: FuzzClient;
const send = (r: Sent): Promise<Answer> => client.send(r);

/** Never a 5xx; an error is exactly `{"detail": <non-empty string or FastAPI's list>}` (health keeps terminus's JSON). */
function check(r: Sent, a: Answer): void {
  const fail = (why: string): never => {
    const body = r.body ? ` body(${r.body.length}) ${JSON.stringify(r.body.subarray(0, 160).toString('latin1'))}` : '';
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
  if (typeof top !== 'object' || top === null || Object.keys(top).join() !== 'detail') fail('not {detail: ...}');
  const d = top['detail'];
  if (!((typeof d === 'string' && d !== '') || (Array.isArray(d) && d.length > 0))) fail('detail is neither a message nor a list');
}

// ---- multipart ------------------------------------------------------------------------------------

interface Part {
  name: string | null;
  filename: string | null;
  type: string | null;
  data: Buffer;
}

const CRLF = '\r\n';
const quoted = (s: string) => `"${s.replace(/"/g, '%22')}"`;

/** A multipart body from its parts, then broken on purpose: cut short, wrong line ends, junk, missing end. */
function multipart(boundary: string, parts: Part[], breakage: string, eol = CRLF): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}${eol}`;
    if (p.name !== null) head += `Content-Disposition: form-data; name=${quoted(p.name)}${p.filename === null ? '' : `; filename=${quoted(p.filename)}`}${eol}`;
    if (p.type !== null) head += `Content-Type: ${p.type}${eol}`;
    chunks.push(Buffer.from(`${head}${eol}`, 'utf8'), p.data, Buffer.from(eol));
  }
  if (breakage !== 'no-end') chunks.push(Buffer.from(`--${boundary}--${eol}`));
  const body = Buffer.concat(chunks);
  switch (breakage) {
    case 'truncate':
      return body.subarray(0, Math.floor(body.length / 2));
    case 'junk-before':
      return Buffer.concat([Buffer.from('junk junk\r\n'), body]);
    case 'nul-in-headers':
      return Buffer.from(body.toString('latin1').replace('Content-Disposition', 'Content-\u0000Disposition'), 'latin1');
    default:
      return body;
  }
}

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF'),
    Buffer.from('%PDF-1.7 broken'),
    Buffer.from('PK\u0003\u0004not a zip'),
    Buffer.from('<html><body><h1>x</h1><script>y</script>'),
    Buffer.from('# md\n\ntext'),
    Buffer.from([0xff, 0xfe, 0x00, 0xd8]),
    Buffer.alloc(0),
  ),
);
const filename = fc.oneof(
  fc.constantFrom('a.pdf', 'b.docx', 'c.txt', 'd.md', 'e.html', 'f.htm', 'g.markdown', 'noext', '.pdf', '../../etc/passwd.txt', 'C:\\x\\y.pdf', 'a.PDF', 'a.exe', '', 'x'.repeat(300) + '.txt', 'na\u00efve \u65e5\u672c.md', 'a\u0000.pdf'),
  fc.string({ maxLength: 40 }),
);
const part: fc.Arbitrary<Part> = fc.record({
  name: fc.option(fc.oneof(fc.constantFrom('file', 'file', 'webhook_url', 'webhook_secret', 'result_type', 'language', 'file[]', ''), fc.string({ maxLength: 20 })), { freq: 8 }),
  filename: fc.option(filename, { freq: 2 }),
  type: fc.option(fc.oneof(fc.constantFrom('application/pdf', 'text/plain', 'text/markdown', 'text/html', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/octet-stream', 'image/png', ';;', 'text/plain; charset=utf-16'), fc.stringMatching(/^[a-z]{1,8}\/[a-z.+-]{1,12}$/))),
  data: fc.oneof(
    bytes,
    fc.constantFrom('http://127.0.0.1:9/hook', 'ftp://127.0.0.1/x', 'not a url', 'http://', 'javascript:alert(1)', 'x'.repeat(1100)).map((s) => Buffer.from(s)),
  ),
});
const boundaryArb = fc.oneof(fc.constantFrom('xyz', 'a'.repeat(70), 'a'.repeat(200), '-', ' ', 'b"c', 'WebKitFormBoundary7MA4YWxkTrZu0gW'), fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,40}$/));
const multipartRequest = fc
  .tuple(
    boundaryArb,
    fc.array(part, { maxLength: 6 }),
    fc.constantFrom('none', 'none', 'truncate', 'no-end', 'junk-before', 'nul-in-headers'),
    fc.constantFrom(CRLF, CRLF, '\n'),
    fc.oneof(
      fc.constant((b: string) => `multipart/form-data; boundary=${b}`),
      fc.constant((b: string) => `multipart/form-data; boundary="${b}"`),
      fc.constantFrom(
        () => 'multipart/form-data',
        () => 'multipart/form-data; boundary=',
        () => 'multipart/form-data; boundary=other',
        () => 'multipart/mixed; boundary=xyz',
        () => 'application/json',
        () => 'text/plain',
        (b: string) => `multipart/form-data; charset=utf-16; boundary=${b}`,
      ),
    ),
    fc.constantFrom('/api/v1/parsing/upload', '/api/parsing/upload'),
  )
  .map(([boundary, parts, breakage, eol, ct, path]) => ({
    method: 'POST',
    path,
    headers: { 'content-type': ct(boundary) },
    body: multipart(boundary, parts, breakage, eol),
  }));

// ---- other generators ----------------------------------------------------------------------------

const ROUTES: [string, string][] = [
  ['POST', '/api/v1/parsing/upload'],
  ['GET', '/api/v1/parsing/job/:id'],
  ['GET', '/api/v1/parsing/job/:id/result/markdown'],
  ['GET', '/api/v1/parsing/job/:id/result/text'],
  ['GET', '/api/parsing/job/:id'],
  ['GET', '/_mock/config'],
  ['PUT', '/_mock/config'],
  ['GET', '/_mock/stats'],
  ['GET', '/health/live'],
  ['GET', '/health/ready'],
  ['GET', '/metrics'],
];
const segment = fc.oneof(
  fc.constantFrom('..', '%2e%2e', '..%2f', '%c0%ae', '%00', '%ff', '%', '%E0%A4%A', 'api', 'v1', 'parsing', 'job', 'result', 'markdown', '_mock', '~'),
  fc.uuid(),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.integer({ min: 100, max: 3000 }).map((n) => 'j'.repeat(n)),
);
const path = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), segment).map(([[, p], s]) => p.replace(':id', s)),
  fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`),
);
const wrong = fc.oneof(
  fc.constantFrom(null, true, -1, 2, 0.5, 1e308, '', '0.1', [], {}, [0.1], { $gt: 0 }),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.jsonValue({ maxDepth: 3 }),
);
const configPatch = fc.oneof(
  fc
    .record(
      { latencyMs: wrong, errorRate: wrong, rateLimitRate: wrong, retryAfterSeconds: wrong, timeoutRate: wrong, timeoutMs: wrong, dropWebhookRate: wrong, seed: wrong, bogus: wrong },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.integer({ min: 10, max: 20_000 }).map((d) => `{"seed":${'['.repeat(d)}${']'.repeat(d)}}`),
  fc.string({ unit: 'binary', maxLength: 100 }),
);
const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,60}[\x21-\x7e])?$/);
const headers = fc
  .tuple(
    fc.option(fc.oneof(fc.constantFrom('Bearer', 'Bearer x', 'Basic eA=='), headerValue)),
    fc.option(fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'text/plain', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*'), fc.stringMatching(/^[a-z]{1,8}\/[a-z+.-]{1,12}$/))),
    fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus')),
  )
  .map(([auth, ct, enc]) => ({
    ...(auth === null ? {} : { authorization: auth }),
    ...(ct === null ? {} : { 'content-type': ct }),
    ...(enc === null ? {} : { 'content-encoding': enc }),
  }));

// ---- the tests -------------------------------------------------------------------------------------

describe('mock-llamaparse fuzzing (fast-check): never a 5xx, always {detail}, always alive', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const config = loadConfig(
      MockLlamaParseConfig,
      {
        MOCK_LLAMAPARSE_MAX_FILE_BYTES: String(MAX_FILE),
        MOCK_LLAMAPARSE_WEBHOOK_RETRIES: '0',
        MOCK_LLAMAPARSE_WEBHOOK_TIMEOUT_MS: '200',
        MOCK_LLAMAPARSE_PARSE_TIMEOUT_MS: '5000',
      },
      'mock-llamaparse',
    );
    // Under Jest, the first PDF parsed compiles and evaluates PDF.js (1.6 MB) synchronously: 0.7-1.5 s on an idle
    // machine, several seconds on a loaded CI one, during which no request is answered. Done here, before any
    // request is timed, so a fuzzed upload that happens to be the first PDF is not reported as a hang.
    await loadUnpdf();
    app = await createApp(config, { logLevel: 'silent' });
    await app.listen(0, '127.0.0.1');
    client = new FuzzClient((app.getHttpServer().address() as AddressInfo).port);
  });
  afterAll(async () => {
    client.close();
    await app?.close();
  });
  afterEach(async () => {
    expect((await send({ method: 'GET', path: '/health/live', headers: {} })).status).toBe(200);
    const config = JSON.parse((await send({ method: 'GET', path: '/_mock/config', headers: {} })).body.toString()) as Record<string, number>;
    expect(config).toMatchObject({ errorRate: 0, rateLimitRate: 0, timeoutRate: 0, latencyMs: 0 });
  });

  /** Sends and checks; a fuzzed PUT that happened to be a valid fault setting is undone. */
  const run = async (r: Sent) => {
    const a = await send(r);
    check(r, a);
    if (r.method === 'PUT' && r.path.startsWith('/_mock/config') && a.status === 200) {
      await send({ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"latencyMs":0,"errorRate":0,"rateLimitRate":0,"timeoutRate":0,"dropWebhookRate":0}') });
    }
  };
  const opts = { numRuns: RUNS, endOnFailure: true } as const;

  it('regression: body-parser errors and deep or missing bodies are 4xx {detail}, not 500', async () => {
    const cases: [Sent, number][] = [
      [{ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json' }, body: Buffer.from(`{"seed":${'['.repeat(5000)}${']'.repeat(5000)}}`) }, 400],
      [{ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(JSON_LIMIT + 1, 0x20) }, 413],
      [{ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, body: Buffer.from('{"seed":1}') }, 400],
      [{ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json', 'content-encoding': 'bogus' }, body: Buffer.from('{"seed":1}') }, 415],
      [{ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json; charset=bogus' }, body: Buffer.from('{"seed":1}') }, 415],
      [{ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"seed":') }, 400],
      [{ method: 'PUT', path: '/_mock/config', headers: {} }, 400],
    ];
    for (const [r, status] of cases) {
      const a = await send(r);
      check(r, a);
      expect({ case: `${JSON.stringify(r.headers)} ${r.body?.length ?? 0}`, status: a.status }).toEqual({ case: `${JSON.stringify(r.headers)} ${r.body?.length ?? 0}`, status });
    }
  });

  it('malformed and hostile multipart uploads', async () => {
    const jobsNow = async () => {
      const stats = JSON.parse((await send({ method: 'GET', path: '/_mock/stats', headers: {} })).body.toString()) as { jobs: Record<string, number> };
      return Object.values(stats.jobs).reduce((a, b) => a + b, 0);
    };
    const before = await jobsNow();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(multipartRequest, async (r) => {
        const a = await send(r);
        check(r, a);
        if (a.status === 200) accepted++;
      }),
      opts,
    );
    // Whether the generator produced a well-formed upload is chance: send one that is, so the background
    // parsing of accepted uploads is always exercised (a random run may accept none).
    const ok = await send({
      method: 'POST',
      path: '/api/v1/parsing/upload',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: multipart('xyz', [{ name: 'file', filename: 'd.md', type: 'text/markdown', data: Buffer.from('# md\n\ntext') }], 'none', CRLF),
    });
    expect(ok.status).toBe(200);
    accepted++;
    // every accepted upload became a job, parsed (or failed) in the background without taking the process down
    expect((await jobsNow()) - before).toBe(accepted);
  }, TEST_TIMEOUT_MS);

  it('uploads over the file size limit are 413', async () => {
    const big = Buffer.alloc(MAX_FILE + 10_000, 0x41);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 10_000 }), fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,40}$/), async (over, boundary) => {
        const r: Sent = {
          method: 'POST',
          path: '/api/v1/parsing/upload',
          headers: { 'content-type': `multipart/form-data; boundary="${boundary}"` },
          body: multipart(boundary, [{ name: 'file', filename: 'big.txt', type: 'text/plain', data: big.subarray(0, MAX_FILE + over) }], 'none'),
        };
        const a = await send(r);
        check(r, a);
        if (a.status !== 413) throw new Error(`expected 413 for a ${MAX_FILE + over}-byte file, got ${a.status} ${a.body.toString().slice(0, 200)}`);
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('random JSON, raw bytes (invalid UTF-8 included), headers and encodings to every route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        segment,
        fc.oneof(configPatch.map((s) => Buffer.from(s, 'utf8')), fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b))),
        headers,
        async ([method, p], s, body, h) => {
          await run({ method, path: p.replace(':id', s), headers: h, body: method === 'GET' ? undefined : body });
        },
      ),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('PUT /_mock/config with random JSON', async () => {
    await fc.assert(
      fc.asyncProperty(configPatch, async (body) => {
        await run({ method: 'PUT', path: '/_mock/config', headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('random paths and methods: traversal, encoded and overlong segments', async () => {
    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), async (p, method) => {
        await run({ method, path: p, headers: {} });
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);

  it('JSON bodies over the limit are 413', async () => {
    const big = Buffer.alloc(JSON_LIMIT + 10_000, 0x20);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom('application/json', 'application/x-www-form-urlencoded'), async (over, ct) => {
        const r: Sent = { method: 'PUT', path: '/_mock/config', headers: { 'content-type': ct }, body: big.subarray(0, JSON_LIMIT + over) };
        const a = await send(r);
        check(r, a);
        if (a.status !== 413) throw new Error(`expected 413, got ${a.status}`);
      }),
      opts,
    );
  }, TEST_TIMEOUT_MS);
});
