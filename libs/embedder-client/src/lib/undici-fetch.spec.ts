import { AddressInfo } from 'node:net';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import { undiciFetch } from './undici-fetch';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('undiciFetch (the OpenAI SDK fetch over undici request)', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/empty') {
          res.writeHead(204, { 'x-request-id': 'r-204' });
          return res.end();
        }
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000);
        if (req.url === '/error') {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
          return res.end(JSON.stringify({ error: { message: 'slow down', code: 'rate_limit_exceeded' } }));
        }
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'r-1' });
        res.end(JSON.stringify({ ok: true, echo: Buffer.concat(chunks).toString() }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
  });

  it('sends the method, headers and body it is given and answers with status, headers and body', async () => {
    const res = await undiciFetch(new URL(`${base}/v1/embeddings`), {
      method: 'post',
      headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json', 'x-stainless-retry-count': '0' }),
      body: '{"input":["a"]}',
    });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-request-id')).toBe('r-1');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await res.json()).toEqual({ ok: true, echo: '{"input":["a"]}' });
    expect(seen).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/v1/embeddings',
        body: '{"input":["a"]}',
        headers: expect.objectContaining({ authorization: 'Bearer k', 'content-type': 'application/json', 'x-stainless-retry-count': '0' }),
      }),
    ]);
  });

  it('takes headers as a plain object too, and defaults to GET', async () => {
    const res = await undiciFetch(`${base}/models`, { headers: { authorization: 'Bearer k' } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/models', headers: expect.objectContaining({ authorization: 'Bearer k' }) });
  });

  it('hands an error status and its body back untouched, and a 204 with no body', async () => {
    const err = await undiciFetch(`${base}/error`, { method: 'POST', body: '{}' });
    expect(err.status).toBe(429);
    expect(err.ok).toBe(false);
    expect(err.headers.get('retry-after')).toBe('2');
    expect(await err.json()).toEqual({ error: { message: 'slow down', code: 'rate_limit_exceeded' } });
    const empty = await undiciFetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    expect(empty.headers.get('x-request-id')).toBe('r-204');
  });

  it('rejects with an AbortError when the signal aborts, as fetch does', async () => {
    // the server would answer 'late' after 2 s: a rejection is the abort
    await expect(undiciFetch(`${base}/slow`, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      name: expect.stringMatching(/AbortError|TimeoutError/),
    });
  });

  it("rejects as fetch does when nothing listens: TypeError('fetch failed') with the network error as its cause", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await undiciFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ message: 'fetch failed', cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
  });
});
