import { BreakerRegistry, CircuitBreakerModule, ServicePolicy } from '@app/circuit-breaker';
import { PermanentError, TransientError } from '@app/errors';
import { Test } from '@nestjs/testing';
import { AddressInfo } from 'node:net';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { LlamaParseClient } from './llamaparse.driver';
import { LlamaParseV2Client } from './llamaparse-v2.driver';
import { ParserClientModule } from './parser-client.module';
import { PARSER_CLIENT, ParserClient } from './parser-client.interface';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

/**
 * A fake LlamaParse v2 that answers as apps/mock-llamaparse's ParseV2Controller does (the pipeline's stack tests run
 * the driver against the real mock; a lib may not import an app).
 */
async function fakeV2(handler: (req: Seen, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const job = (status: string, extra: Record<string, unknown> = {}) => ({
  id: 'job-9',
  project_id: 'p',
  status,
  name: 'a.pdf',
  tier: 'fast',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  error_message: null,
  ...extra,
});

const policy = (opts: ConstructorParameters<typeof ServicePolicy>[1] = {}) =>
  new ServicePolicy('parser', { initialDelayMs: 1, maxDelayMs: 2, random: () => 0, maxAttempts: 3, ...opts });

const doc = { fileName: 'report.pdf', mime: 'application/pdf', body: Buffer.from('%PDF-1.4 fake') };

describe('LlamaParseV2Client (wire)', () => {
  let server: Awaited<ReturnType<typeof fakeV2>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('uploads the file with one configuration field: tier, version, language and the signed json webhook', async () => {
    server = await fakeV2((req, res) => json(res, 200, job('PENDING')));
    const client = new LlamaParseV2Client(
      { baseUrl: `${server.url}/`, apiKey: 'llx-secret', parse: { tier: 'agentic', version: '2025-12-01', language: 'de' } },
      policy(),
    );
    const { parserJobId } = await client.submit({ ...doc, webhookUrl: 'https://api.example.com/webhooks/llamaparse/abc', webhookSecret: 's3cr3t' });
    expect(parserJobId).toBe('job-9');
    const upload = server.seen[0];
    expect(upload.method).toBe('POST');
    expect(upload.url).toBe('/api/v2/parse/upload');
    expect(upload.headers.authorization).toBe('Bearer llx-secret');
    const form = await new Response(upload.body, { headers: { 'content-type': String(upload.headers['content-type']) } }).formData();
    const file = form.get('file') as File;
    expect(file.name).toBe('report.pdf');
    expect(await file.text()).toBe('%PDF-1.4 fake');
    expect(JSON.parse(String(form.get('configuration')))).toEqual({
      tier: 'agentic',
      version: '2025-12-01',
      processing_options: { ocr_parameters: { languages: ['de'] } },
      webhook_configurations: [
        {
          webhook_url: 'https://api.example.com/webhooks/llamaparse/abc',
          webhook_events: ['parse.success', 'parse.error'],
          webhook_signing_secret: 's3cr3t',
          webhook_output_format: 'json',
        },
      ],
    });
    expect(form.get('webhook_secret')).toBeNull();
  });

  it('defaults to tier cost_effective, version latest, no language and no webhook', () => {
    const client = new LlamaParseV2Client({ baseUrl: 'http://x', apiKey: 'k' }, policy());
    expect(client.configuration({})).toEqual({ tier: 'cost_effective', version: 'latest' });
    // the upload asked for OCR: text in images is read (LlamaParse v2: not ignored); otherwise the service's default
    expect(client.configuration({ ocr: true })).toEqual({
      tier: 'cost_effective',
      version: 'latest',
      processing_options: { ignore: { ignore_text_in_image: false } },
    });
    expect(client.configuration({ ocr: false })).toEqual({ tier: 'cost_effective', version: 'latest' });
  });

  it('maps the v2 statuses and the error message', async () => {
    const answers = [
      { job: job('PENDING') },
      { job: job('RUNNING') },
      { job: job('COMPLETED') },
      { job: job('FAILED', { error_message: 'unsupported file' }) },
      { job: job('CANCELLED', { error_message: 'CANCELED' }) },
      { job: job('WEIRD') },
      { id: 'no-job' },
    ];
    server = await fakeV2((_req, res) => json(res, 200, answers.shift()));
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k' }, policy());
    await expect(client.status('job-9')).resolves.toEqual({ status: 'PENDING' });
    await expect(client.status('job-9')).resolves.toEqual({ status: 'PENDING' });
    await expect(client.status('job-9')).resolves.toEqual({ status: 'SUCCESS' });
    await expect(client.status('job-9')).resolves.toEqual({ status: 'ERROR', errorMessage: 'unsupported file' });
    await expect(client.status('job-9')).resolves.toEqual({ status: 'CANCELED', errorMessage: 'CANCELED' });
    await expect(client.status('job-9')).rejects.toMatchObject({ kind: 'permanent', code: 'bad_response' });
    await expect(client.status('job-9')).rejects.toMatchObject({ kind: 'permanent', code: 'bad_response' });
    expect(server.seen[0].url).toBe('/api/v2/parse/job-9');
  });

  it('reads the markdown pages in order, joined, and counts them; a job not completed is a 404-like permanent error', async () => {
    const answers = [
      {
        job: job('COMPLETED'),
        markdown: {
          pages: [
            { page_number: 2, markdown: '## Two', success: true },
            { page_number: 1, markdown: '# One', success: true },
          ],
        },
      },
      { job: job('RUNNING') },
      { job: job('COMPLETED') },
    ];
    server = await fakeV2((_req, res) => json(res, 200, answers.shift()));
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k' }, policy());
    await expect(client.markdown('job-9')).resolves.toEqual({ markdown: '# One\n\n<!-- page 2 -->\n\n## Two', pages: 2 });
    expect(server.seen[0].url).toBe('/api/v2/parse/job-9?expand=markdown');
    await expect(client.markdown('job-9')).rejects.toMatchObject({ kind: 'permanent', status: 404, code: 'job_not_ready' });
    await expect(client.markdown('job-9')).rejects.toMatchObject({ kind: 'permanent', code: 'bad_response' });
  });

  it('402 on upload is permanent parser_quota_exhausted with a message the user can act on; not retried, breaker closed', async () => {
    server = await fakeV2((_req, res) => json(res, 402, { detail: 'Insufficient credits' }));
    const p = policy({ maxAttempts: 3, breaker: { kind: 'consecutive', threshold: 1 } });
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k' }, p);
    const err = await client.submit(doc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'parser_quota_exhausted', status: 402 });
    expect((err as Error).message).toMatch(/out of credits/);
    expect((err as Error).message).toMatch(/Add credits/);
    expect(server.seen).toHaveLength(1);
    expect(p.status().state).toBe('closed');
  });

  it('a 429 without retry-after waits the default backoff, then retries', async () => {
    let n = 0;
    server = await fakeV2((_req, res) => (++n === 1 ? json(res, 429, { detail: 'Rate limit exceeded' }) : json(res, 200, job('PENDING'))));
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k', rateLimitBackoffMs: 150 }, policy({ maxAttempts: 2 }));
    await expect(client.submit(doc)).resolves.toEqual({ parserJobId: 'job-9' });
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1].at - server.seen[0].at).toBeGreaterThanOrEqual(140);
  });

  it('persistent 429s without retry-after give a TransientError carrying the default backoff', async () => {
    server = await fakeV2((_req, res) => json(res, 429, { detail: 'Rate limit exceeded' }));
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k', rateLimitBackoffMs: 10 }, policy({ maxAttempts: 2 }));
    const err = await client.submit(doc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryAfterMs: 10, service: 'parser' });
  });

  it('a 429 with retry-after keeps it', async () => {
    server = await fakeV2((_req, res) => json(res, 429, { detail: 'slow down' }, { 'retry-after': '0' }));
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k', rateLimitBackoffMs: 10_000 }, policy({ maxAttempts: 1 }));
    await expect(client.status('j')).rejects.toMatchObject({ code: 'rate_limited', retryAfterMs: 0 });
  });

  it('ping asks for a job that cannot exist under /api/v2/parse; 401 fails it', async () => {
    let status = 404;
    server = await fakeV2((_req, res) => json(res, status, { detail: 'Job not found' }));
    const client = new LlamaParseV2Client({ baseUrl: server.url, apiKey: 'k' }, policy());
    await expect(client.ping()).resolves.toBeUndefined();
    expect(server.seen[0].url).toBe('/api/v2/parse/00000000-0000-0000-0000-000000000000');
    status = 401;
    await expect(client.ping()).rejects.toMatchObject({ kind: 'permanent', code: 'http_401' });
  });
});

describe('ParserClientModule: the API version', () => {
  const build = async (apiVersion?: 'v1' | 'v2') => {
    const mod = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ services: { parser: { maxAttempts: 1 } } }),
        ParserClientModule.forRoot({ driver: 'llamaparse', apiVersion, baseUrl: 'http://127.0.0.1:1', apiKey: 'k' }),
      ],
    }).compile();
    return mod;
  };

  it('v2 by default, v1 when asked, both on the registry `parser` breaker', async () => {
    for (const [v, type] of [
      [undefined, LlamaParseV2Client],
      ['v2', LlamaParseV2Client],
      ['v1', LlamaParseClient],
    ] as const) {
      const mod = await build(v);
      expect(mod.get<ParserClient>(PARSER_CLIENT)).toBeInstanceOf(type);
      expect(mod.get(BreakerRegistry).states()).toEqual([expect.objectContaining({ name: 'parser' })]);
      await mod.close();
    }
  });

  it('an unknown version fails at start', async () => {
    await expect(build('v3' as 'v1')).rejects.toThrow(/Unknown LlamaParse API version: v3/);
  });
});
