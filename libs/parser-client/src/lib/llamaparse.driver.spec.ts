import { BreakerRegistry, ServicePolicy } from '@app/circuit-breaker';
import { BreakerOpenError, PermanentError, TransientError } from '@app/errors';
import { Test } from '@nestjs/testing';
import { CircuitBreakerModule } from '@app/circuit-breaker';
import { AddressInfo } from 'node:net';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { LlamaParseClient, parserJobStatusOf } from './llamaparse.driver';
import { ParserClientModule } from './parser-client.module';
import { PARSER_CLIENT, ParserClient } from './parser-client.interface';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

type Handler = (req: Seen, res: ServerResponse) => void;

/** A fake LlamaParse: records every request and answers with the handler of the case at hand. */
async function fakeLlamaParse(handler: Handler): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
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

const policy = (opts: ConstructorParameters<typeof ServicePolicy>[1] = {}) =>
  new ServicePolicy('parser', { initialDelayMs: 1, maxDelayMs: 2, random: () => 0, maxAttempts: 3, ...opts });

describe('LlamaParseClient (wire)', () => {
  let server: Awaited<ReturnType<typeof fakeLlamaParse>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('uploads multipart with the webhook fields and bearer key, then reads status and markdown', async () => {
    server = await fakeLlamaParse((req, res) => {
      if (req.method === 'POST' && req.url === '/api/v1/parsing/upload') return json(res, 200, { id: 'job-1', status: 'PENDING' });
      if (req.url === '/api/v1/parsing/job/job-1') return json(res, 200, { id: 'job-1', status: 'SUCCESS' });
      if (req.url === '/api/v1/parsing/job/job-1/result/markdown')
        return json(res, 200, { markdown: '# Title\n\nBody', job_metadata: { job_pages: 3, credits_used: 1 } });
      json(res, 404, { detail: 'Not found' });
    });
    const client = new LlamaParseClient({ baseUrl: `${server.url}/`, apiKey: 'llx-secret' }, policy());

    const { parserJobId } = await client.submit({
      fileName: 'report.txt',
      mime: 'text/plain',
      body: Buffer.from('hello parser'),
      webhookUrl: 'http://api/webhooks/llamaparse/abc',
      webhookSecret: 's3cr3t',
    });
    expect(parserJobId).toBe('job-1');
    const upload = server.seen[0];
    expect(upload.headers.authorization).toBe('Bearer llx-secret');
    const form = await new Response(upload.body, {
      headers: { 'content-type': String(upload.headers['content-type']) },
    }).formData();
    const file = form.get('file') as File;
    expect(file.name).toBe('report.txt');
    expect(file.type).toBe('text/plain');
    expect(await file.text()).toBe('hello parser');
    expect(form.get('webhook_url')).toBe('http://api/webhooks/llamaparse/abc');
    expect(form.get('webhook_secret')).toBe('s3cr3t');
    // multipart turns the line feeds of a field into CRLF
    expect(String(form.get('page_separator')).replace(/\r\n/g, '\n')).toBe('\n\n<!-- page {pageNumber} -->\n\n');
    expect(form.get('result_type')).toBe('markdown');

    await expect(client.status('job-1')).resolves.toEqual({ status: 'SUCCESS' });
    await expect(client.markdown('job-1')).resolves.toEqual({ markdown: '# Title\n\nBody', pages: 3 });
  });

  it('sends the parse options as v1 fields (parse_mode for the tier, language)', async () => {
    server = await fakeLlamaParse((_req, res) => json(res, 200, { id: 'job-2', status: 'PENDING' }));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k', parse: { tier: 'fast', version: 'latest', language: 'fr' } }, policy());
    await client.submit({ fileName: 'a.txt', mime: 'text/plain', body: Buffer.from('x') });
    const form = await new Response(server.seen[0].body, { headers: { 'content-type': String(server.seen[0].headers['content-type']) } }).formData();
    expect(form.get('parse_mode')).toBe('parse_page_without_llm');
    expect(form.get('language')).toBe('fr');
  });

  it('an upload answered 402 (out of credits) is permanent parser_quota_exhausted, not retried', async () => {
    server = await fakeLlamaParse((_req, res) => json(res, 402, { detail: 'Insufficient credits' }));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy({ maxAttempts: 3 }));
    const err = await client.submit({ fileName: 'a.txt', mime: 'text/plain', body: Buffer.from('x') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'parser_quota_exhausted', status: 402, service: 'parser' });
    expect((err as Error).message).toMatch(/out of credits.*Add credits/);
    expect(server.seen).toHaveLength(1);
  });

  it('maps job status values and the error message', async () => {
    const answers: unknown[] = [
      { id: 'j', status: 'PENDING' },
      { id: 'j', status: 'ERROR', error_message: 'unsupported file' },
      { id: 'j', status: 'CANCELED' },
      { id: 'j', status: 'PARTIAL_SUCCESS' },
      { id: 'j', status: 'WEIRD' },
    ];
    server = await fakeLlamaParse((_req, res) => json(res, 200, answers.shift()));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy());
    await expect(client.status('j')).resolves.toEqual({ status: 'PENDING' });
    await expect(client.status('j')).resolves.toEqual({ status: 'ERROR', errorMessage: 'unsupported file' });
    await expect(client.status('j')).resolves.toEqual({ status: 'CANCELED' });
    await expect(client.status('j')).resolves.toEqual({ status: 'SUCCESS' });
    await expect(client.status('j')).rejects.toMatchObject({ kind: 'permanent', code: 'bad_response' });
  });

  it('reads a status as LlamaParse spells it, in any case, and nothing else', () => {
    expect(parserJobStatusOf('SUCCESS')).toBe('SUCCESS');
    expect(parserJobStatusOf('success')).toBe('SUCCESS');
    expect(parserJobStatusOf('PARTIAL_SUCCESS')).toBe('SUCCESS');
    expect(parserJobStatusOf('Cancelled')).toBe('CANCELED');
    expect(parserJobStatusOf('ERROR')).toBe('ERROR');
    expect(parserJobStatusOf('pending')).toBe('PENDING');
    // v2's, as its webhooks report them
    expect(parserJobStatusOf('COMPLETED')).toBe('SUCCESS');
    expect(parserJobStatusOf('FAILED')).toBe('ERROR');
    expect(parserJobStatusOf('RUNNING')).toBe('PENDING');
    expect(parserJobStatusOf('CANCELLED')).toBe('CANCELED');
    for (const other of ['WEIRD', '', 'constructor', '__proto__', 'toString', null, undefined, 1, { status: 'SUCCESS' }]) {
      expect(parserJobStatusOf(other)).toBeUndefined();
    }
  });

  it('follows redirects on the reads, as fetch did; a redirected upload is a permanent error', async () => {
    server = await fakeLlamaParse((req, res) => {
      if (req.url.startsWith('/moved/')) {
        res.writeHead(301, { location: req.url.slice('/moved'.length) });
        return res.end();
      }
      if (req.url === '/api/v1/parsing/job/j') return json(res, 200, { id: 'j', status: 'SUCCESS' });
      if (req.url === '/api/v1/parsing/job/j/result/markdown') return json(res, 200, { markdown: '# m', job_metadata: { job_pages: 1 } });
      return json(res, 404, { detail: 'Not Found' });
    });
    const client = new LlamaParseClient({ baseUrl: `${server.url}/moved`, apiKey: 'k' }, policy());
    await expect(client.status('j')).resolves.toEqual({ status: 'SUCCESS' });
    await expect(client.markdown('j')).resolves.toEqual({ markdown: '# m', pages: 1 });
    await expect(client.submit({ fileName: 'a.md', mime: 'text/markdown', body: Buffer.from('# a') })).rejects.toMatchObject({
      kind: 'permanent',
      code: 'http_301',
    });
  });

  it("a markdown result not there yet is a permanent error carrying its HTTP status (404), whatever code the body names", async () => {
    server = await fakeLlamaParse((_req, res) => json(res, 404, { error: { message: 'Job not completed', code: 'job_not_ready' } }));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy());
    await expect(client.markdown('j')).rejects.toMatchObject({ kind: 'permanent', status: 404, code: 'job_not_ready' });
  });

  it('retries a 5xx burst and then succeeds', async () => {
    let n = 0;
    server = await fakeLlamaParse((_req, res) =>
      ++n <= 2 ? json(res, 503, { detail: 'busy' }) : json(res, 200, { id: 'j', status: 'PENDING' }),
    );
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy({ maxAttempts: 3 }));
    await expect(client.status('j')).resolves.toEqual({ status: 'PENDING' });
    expect(server.seen).toHaveLength(3);
  });

  it('honours retry-after on 429', async () => {
    let n = 0;
    server = await fakeLlamaParse((_req, res) =>
      ++n === 1 ? json(res, 429, { detail: 'slow down' }, { 'retry-after': '0.1' }) : json(res, 200, { id: 'j', status: 'SUCCESS' }),
    );
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy({ maxAttempts: 2 }));
    await expect(client.status('j')).resolves.toEqual({ status: 'SUCCESS' });
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1].at - server.seen[0].at).toBeGreaterThanOrEqual(90);
  });

  it('gives up with a TransientError carrying retryAfterMs when 429s persist', async () => {
    server = await fakeLlamaParse((_req, res) => json(res, 429, { detail: 'slow down' }, { 'retry-after': '0' }));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy({ maxAttempts: 2 }));
    const err = await client.status('j').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryAfterMs: 0, service: 'parser' });
    expect(server.seen).toHaveLength(2);
  });

  it('a 400 is permanent, not retried, and does not open the breaker', async () => {
    server = await fakeLlamaParse((_req, res) => json(res, 400, { detail: 'Unsupported file type: .exe' }));
    const p = policy({ maxAttempts: 3, breaker: { kind: 'consecutive', threshold: 1 } });
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, p);
    const err = await client
      .submit({ fileName: 'a.exe', mime: 'application/octet-stream', body: Buffer.from('MZ') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'http_400', status: 400 });
    expect((err as Error).message).toContain('Unsupported file type: .exe');
    expect(server.seen).toHaveLength(1);
    expect(p.status().state).toBe('closed');
  });

  it('a response slower than the timeout is a transient timeout', async () => {
    server = await fakeLlamaParse((_req, res) => {
      const t = setTimeout(() => json(res, 200, { id: 'j', status: 'SUCCESS' }), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k', timeoutMs: 50 }, policy({ maxAttempts: 1 }));
    const err = await client.status('j').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'timeout', service: 'parser' });
  });

  it('connection refused is transient', async () => {
    const s = await fakeLlamaParse((_req, res) => json(res, 200, {}));
    const url = s.url;
    await s.close();
    const client = new LlamaParseClient({ baseUrl: url, apiKey: 'k' }, policy({ maxAttempts: 2 }));
    const err = await client.status('j').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', service: 'parser' });
  });

  it('the breaker opens after a 5xx burst and then fails fast without calling the server', async () => {
    server = await fakeLlamaParse((_req, res) => json(res, 500, { detail: 'internal' }));
    const p = policy({ maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 3 }, halfOpenAfterMs: 60_000 });
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, p);
    for (let i = 0; i < 3; i++) await expect(client.status('j')).rejects.toMatchObject({ kind: 'transient', code: 'http_500' });
    expect(p.status().state).toBe('open');
    await expect(client.markdown('j')).rejects.toBeInstanceOf(BreakerOpenError);
    expect(server.seen).toHaveLength(3);
  });

  it('a 2xx body of the wrong shape is permanent; a truncated one transient', async () => {
    const answers = [
      (res: ServerResponse) => json(res, 200, { status: 'PENDING' }),
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "j", "sta');
      },
    ];
    server = await fakeLlamaParse((_req, res) => answers.shift()?.(res));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy({ maxAttempts: 1 }));
    const req = { fileName: 'a.txt', mime: 'text/plain', body: Buffer.from('x') };
    await expect(client.submit(req)).rejects.toMatchObject({ kind: 'permanent', code: 'bad_response' });
    await expect(client.submit(req)).rejects.toMatchObject({ kind: 'transient', code: 'bad_response' });
  });

  it('ping succeeds on any answer below 500 and fails on bad credentials or outage', async () => {
    let status = 404;
    server = await fakeLlamaParse((_req, res) => json(res, status, { detail: 'x' }));
    const client = new LlamaParseClient({ baseUrl: server.url, apiKey: 'k' }, policy());
    await expect(client.ping()).resolves.toBeUndefined();
    status = 401;
    await expect(client.ping()).rejects.toMatchObject({ kind: 'permanent', code: 'http_401' });
    status = 503;
    await expect(client.ping()).rejects.toMatchObject({ kind: 'transient', code: 'http_503' });
    expect(server.seen[0].url).toBe('/api/v1/parsing/job/00000000-0000-0000-0000-000000000000');
  });
});

describe('ParserClientModule', () => {
  it('provides PARSER_CLIENT wired to the registry `parser` breaker', async () => {
    const server = await fakeLlamaParse((_req, res) => json(res, 503, { detail: 'down' }));
    try {
      const mod = await Test.createTestingModule({
        imports: [
          CircuitBreakerModule.forRoot({
            services: { parser: { maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 2 }, halfOpenAfterMs: 60_000 } },
          }),
          ParserClientModule.forRoot({ driver: 'llamaparse', apiVersion: 'v1', baseUrl: server.url, apiKey: 'k', timeoutMs: 1_000 }),
        ],
      }).compile();
      const client = mod.get<ParserClient>(PARSER_CLIENT);
      expect(client).toBeInstanceOf(LlamaParseClient);
      for (let i = 0; i < 2; i++) await client.status('j').catch(() => undefined);
      expect(mod.get(BreakerRegistry).states()).toEqual([
        expect.objectContaining({ name: 'parser', state: 'open', failures: 2 }),
      ]);
      await mod.close();
    } finally {
      await server.close();
    }
  });
});
