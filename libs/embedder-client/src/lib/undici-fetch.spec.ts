import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { undiciFetch } from './undici-fetch';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('undiciFetch (the fetch given to the openai SDK)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  it('sends method, headers and body; answers status, headers (repeated ones too) and the body', async () => {
    const s = await serve((req, body, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-request-id', 'r-1');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, type: req.headers['content-type'], body }));
    });
    server = s.server;
    const headers = new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' });
    const res = await undiciFetch(`${s.url}/v1/embeddings`, { method: 'post', headers, body: '{"input":["a"]}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('r-1');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ method: 'POST', auth: 'Bearer k', type: 'application/json', body: '{"input":["a"]}' });
  });

  it('gives a 204 with no body, and error statuses as answers (not throws)', async () => {
    const s = await serve((req, _b, res) => {
      res.writeHead(req.url === '/none' ? 204 : 503);
      res.end(req.url === '/none' ? undefined : 'overloaded');
    });
    server = s.server;
    const none = await undiciFetch(`${s.url}/none`);
    expect(none.status).toBe(204);
    expect(none.body).toBeNull();
    const busy = await undiciFetch(new URL(`${s.url}/busy`));
    expect(busy.status).toBe(503);
    expect(await busy.text()).toBe('overloaded');
  });

  it('fails as fetch does: an abort as an AbortError, a refused connection as TypeError with the network error as cause', async () => {
    const s = await serve(() => undefined); // never answers
    server = s.server;
    const controller = new AbortController();
    const pending = undiciFetch(`${s.url}/slow`, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const closed = await serve((_r, _b, res) => res.end());
    await new Promise((r) => closed.server.close(r));
    const err = (await undiciFetch(`${closed.url}/x`).catch((e: unknown) => e)) as TypeError & { cause?: { code?: string } };
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('fetch failed');
    expect(err.cause?.code).toBe('ECONNREFUSED');
  });

  it('refuses what it does not implement: a Request object, a stream body', async () => {
    await expect(undiciFetch(new Request('http://127.0.0.1:1/'))).rejects.toThrow('takes a URL');
    await expect(undiciFetch('http://127.0.0.1:1/', { method: 'POST', body: new ReadableStream() })).rejects.toThrow('string or bytes');
  });
});
