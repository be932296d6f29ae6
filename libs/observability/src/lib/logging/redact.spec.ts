import { createAppLogger } from './logging.config';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import pino from 'pino';
import {
  censorLogObject,
  isSignedUrl,
  REDACTED,
  redactUrl,
  sanitizeRequest,
  sanitizeResponse,
  serializeRequest,
  serializeResponse,
  type SerializedRequest,
  type SerializedResponse,
} from './redact';
import { LogCapture } from '../../../test/log-capture';

const SIGNED =
  'http://localhost:8000/api/v2/storage/upload?key=raw%2Fu%2Fd&expires=1900000000&size=5&sha256=ab&sig=c2VjcmV0LXNpZw';

describe('redactUrl / isSignedUrl', () => {
  it('strips the query string and fragment, keeping scheme, host and path', () => {
    expect(redactUrl(SIGNED)).toBe(`http://localhost:8000/api/v2/storage/upload?${REDACTED}`);
    expect(redactUrl('/a/b#frag')).toBe(`/a/b?${REDACTED}`);
    expect(redactUrl('https://h/p')).toBe('https://h/p');
  });

  it('recognizes our signature and S3 presigning parameters, not ordinary queries', () => {
    expect(isSignedUrl(SIGNED)).toBe(true);
    expect(isSignedUrl('https://b.s3.amazonaws.com/k?X-Amz-Algorithm=A&X-Amz-Signature=ff')).toBe(true);
    expect(isSignedUrl('/api/v2/jobs?page=2&limit=10')).toBe(false);
    expect(isSignedUrl('/api/v2/jobs/sig=1')).toBe(false); // in the path, not the query
  });

  it('censorLogObject: URL fields lose a signature only; secret fields become [redacted]', () => {
    expect(censorLogObject({ job: { signed_url: SIGNED } })).toEqual({ job: { signed_url: redactUrl(SIGNED) } });
    expect(censorLogObject({ req: { url: '/api/v2/jobs?page=2' } })).toEqual({ req: { url: '/api/v2/jobs?page=2' } });
    expect(censorLogObject({ url: 42 })).toEqual({ url: 42 });
    expect(censorLogObject({ user: { password: 'hunter2' } })).toEqual({ user: { password: REDACTED } });
    expect(censorLogObject({ token: { nested: 'object' } })).toEqual({ token: REDACTED });
  });

  it('censorLogObject: stops below depth 2, descends arrays, copies instead of changing the caller\'s objects', () => {
    const deep = { a: { b: { c: { token: 'deep' } } } };
    expect(censorLogObject(deep)).toBe(deep); // nothing to change: the same object back
    const items = { items: [{ token: 't1' }, { name: 'n' }] };
    expect(censorLogObject(items)).toEqual({ items: [{ token: REDACTED }, { name: 'n' }] });
    expect(items.items[0].token).toBe('t1');
    const headers = { authorization: 'Bearer x', accept: '*/*' };
    const obj = { req: { headers } };
    expect(censorLogObject(obj)).toEqual({ req: { headers: { authorization: REDACTED, accept: '*/*' } } });
    expect(obj.req.headers).toBe(headers);
    expect(headers.authorization).toBe('Bearer x');
    // class instances are left to their serializers (a raw request is never walked)
    class Raw {
      token = 'inside-an-instance';
    }
    const raw = new Raw();
    expect(censorLogObject({ thing: raw }).thing).toBe(raw);
  });

  it('sanitizeResponse keeps the status and the length sent, no other header (set-cookie never reaches a line)', () => {
    const res = { statusCode: 200, headers: { 'set-cookie': 'sid=1', 'content-type': 'application/json', 'content-length': '33', 'x-frame-options': 'SAMEORIGIN' } };
    expect(sanitizeResponse(res)).toEqual({ statusCode: 200, headers: { 'content-length': '33' } });
    expect(res.headers['set-cookie']).toBe('sid=1'); // the caller's object is not changed
    expect(sanitizeResponse({ statusCode: 204, headers: { 'x-request-id': 'r' } })).toEqual({ statusCode: 204, headers: {} });
  });

  it('sanitizeRequest logs only the allowed headers, on a copy: no credential or signature header', () => {
    const headers = {
      host: 'h',
      'user-agent': 'curl/8',
      'content-type': 'application/json',
      'content-length': '12',
      authorization: 'Bearer eyJ.sec.ret',
      cookie: 'sid=1',
      'x-webhook-signature': 'sha256=ab',
      'x-hub-signature-256': 'sha256=cd',
      accept: '*/*',
    };
    const req = sanitizeRequest({ method: 'POST', url: '/api/v2/upload', headers });
    expect(req.headers).toEqual({ host: 'h', 'user-agent': 'curl/8', 'content-type': 'application/json', 'content-length': '12' });
    expect(headers.authorization).toBe('Bearer eyJ.sec.ret');
  });

  it('sanitizeRequest drops the query of the upload route and of signed URLs', () => {
    const upload = sanitizeRequest({ method: 'PUT', url: '/api/v2/storage/upload?key=k&sig=zzz', query: { key: 'k', sig: 'zzz' } });
    expect(upload).toEqual({ method: 'PUT', url: `/api/v2/storage/upload?${REDACTED}`, query: REDACTED });
    const plain = sanitizeRequest({ method: 'GET', url: '/api/v2/jobs?page=2', query: { page: '2' } });
    expect(plain).toEqual({ method: 'GET', url: '/api/v2/jobs?page=2', query: { page: '2' } });
  });
});

describe('redaction in log output', () => {
  function log(obj: object): { line: Record<string, unknown>; text: string } {
    const capture = new LogCapture();
    createAppLogger({ app: 't', level: 'info', destination: capture }).info(obj, 'm');
    return { line: capture.entries[0], text: capture.text };
  }

  it('censors secret fields at the top level and up to two levels deep', () => {
    const { line, text } = log({
      token: 'tok-0',
      job: { webhook_secret: 'whs-1', apiKey: 'ak-1', api_key: 'ak-2', nested: { password: 'pw-2', secret: 'sec-2' } },
      kept: { name: 'visible' },
    });
    for (const s of ['tok-0', 'whs-1', 'ak-1', 'ak-2', 'pw-2', 'sec-2']) expect(text).not.toContain(s);
    expect(line).toMatchObject({
      token: REDACTED,
      job: { webhook_secret: REDACTED, apiKey: REDACTED, api_key: REDACTED, nested: { password: REDACTED, secret: REDACTED } },
      kept: { name: 'visible' },
    });
  });

  it('censors authorization, cookie and webhook signature headers of any logged headers object', () => {
    const { line, text } = log({
      req: { headers: { authorization: 'Bearer eyJ.sec.ret', cookie: 'sid=1', 'x-webhook-signature': 'sha256=ab', accept: '*/*' } },
      headers: { authorization: 'Basic Zm9v' },
    });
    expect(text).not.toMatch(/eyJ\.sec\.ret|sid=1|sha256=ab|Zm9v/);
    expect(line).toMatchObject({
      req: { headers: { authorization: REDACTED, cookie: REDACTED, 'x-webhook-signature': REDACTED, accept: '*/*' } },
      headers: { authorization: REDACTED },
    });
  });

  it('never writes the sig of a signed URL held in url / signed_url fields', () => {
    const { line, text } = log({ signed_url: SIGNED, upload: { url: SIGNED }, a: { b: { url: SIGNED } }, link: { url: '/x?page=1' } });
    expect(text).not.toContain('c2VjcmV0LXNpZw');
    expect(text).not.toContain('expires=');
    expect(line).toMatchObject({
      signed_url: redactUrl(SIGNED),
      upload: { url: redactUrl(SIGNED) },
      a: { b: { url: redactUrl(SIGNED) } },
      link: { url: '/x?page=1' },
    });
  });

  it('does not add fields that were not there', () => {
    const { line } = log({ only: 1 });
    expect(Object.keys(line)).not.toContain('token');
    expect(Object.keys(line)).not.toContain('url');
  });
});

describe('serializeRequest / serializeResponse', () => {
  /** What pino-std-serializers followed by sanitizeRequest / sanitizeResponse gave, as JSON (the log line's text). */
  const viaStd = {
    req: (req: IncomingMessage) => JSON.stringify(sanitizeRequest(pino.stdSerializers.req(req) as unknown as SerializedRequest)),
    res: (res: ServerResponse) => JSON.stringify(sanitizeResponse(pino.stdSerializers.res(res) as unknown as SerializedResponse)),
  };
  function request(url: string, extra: Record<string, unknown> = {}): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    req.method = 'PUT';
    req.url = url;
    Object.assign(req.headers, { host: 'h', 'user-agent': 'ua', authorization: 'Bearer x', 'content-length': '5', accept: '*/*' });
    return Object.assign(req, extra);
  }

  it.each<[string, IncomingMessage]>([
    ['a plain node request', request('/api/v2/jobs?page=2')],
    ['an express request with id, originalUrl, query and params', request('/x', { id: 'r-1', originalUrl: '/api/v2/jobs/1?page=2', query: { page: '2' }, params: { id: '1' } })],
    ['a signed upload URL', request('/u', { id: 'r-2', originalUrl: `/api/v2/storage/upload?key=k&sig=zzz`, query: { key: 'k', sig: 'zzz' } })],
    ['a URL with a token', request('/u', { originalUrl: '/cb?token=abc', query: { token: 'abc' } })],
    ['an id function', request('/f', { id: () => 'from-fn', path: '/f-path' })],
  ])('the request fields of %s are those pino-std-serializers and sanitizeRequest gave', (_name, req) => {
    expect(JSON.stringify(serializeRequest(req))).toBe(viaStd.req(req));
  });

  it('the response fields are those pino-std-serializers and sanitizeResponse gave, sent or not', () => {
    const res = new ServerResponse(request('/'));
    res.setHeader('content-length', '12');
    res.setHeader('set-cookie', 'a=1');
    expect(JSON.stringify(serializeResponse(res))).toBe(viaStd.res(res));
    res.removeHeader('content-length');
    expect(JSON.stringify(serializeResponse(res))).toBe(viaStd.res(res));
    Object.defineProperty(res, 'headersSent', { value: true });
    res.statusCode = 404;
    expect(JSON.stringify(serializeResponse(res))).toBe(viaStd.res(res));
  });
});
