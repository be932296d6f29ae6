import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdMiddleware, requestIdOf, resolveRequestId } from './request-id.middleware';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('resolveRequestId', () => {
  it('keeps sane ids up to 128 chars', () => {
    expect(resolveRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    const max = 'a'.repeat(128);
    expect(resolveRequestId(max)).toBe(max);
  });

  it.each([
    ['a'.repeat(129)],
    [''],
    ['with space'],
    ['new\nline'],
    ['<script>'],
    [undefined],
    [['a', 'b']],
    [42],
  ])('replaces %p with a UUID', (incoming) => {
    expect(resolveRequestId(incoming)).toMatch(UUID);
  });
});

describe('requestIdMiddleware', () => {
  function run(header?: string): {
    req: IncomingMessage;
    headers: Record<string, unknown>;
    nextCalled: boolean;
  } {
    const req = {
      headers: header === undefined ? {} : { 'x-request-id': header },
    } as unknown as IncomingMessage;
    const headers: Record<string, unknown> = {};
    const res = { setHeader: (k: string, v: unknown) => (headers[k] = v) } as unknown as ServerResponse;
    let nextCalled = false;
    requestIdMiddleware(req, res, () => (nextCalled = true));
    return { req, headers, nextCalled };
  }

  it('sets req.id, the request header and the response header to the same id', () => {
    const { req, headers, nextCalled } = run('trace-1');
    expect(nextCalled).toBe(true);
    expect(requestIdOf(req)).toBe('trace-1');
    expect(req.headers['x-request-id']).toBe('trace-1');
    expect(headers['x-request-id']).toBe('trace-1');
  });

  it('generates an id when the header is missing or insane', () => {
    const a = run();
    const b = run('bad id');
    expect(a.headers['x-request-id']).toMatch(UUID);
    expect(b.headers['x-request-id']).toMatch(UUID);
    expect(requestIdOf(b.req)).toBe(b.headers['x-request-id']);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('requestIdOf falls back to a sane header when the middleware did not run', () => {
    expect(requestIdOf({ headers: { 'x-request-id': 'hdr-1' } } as unknown as IncomingMessage)).toBe('hdr-1');
    expect(
      requestIdOf({ headers: { 'x-request-id': 'bad id' } } as unknown as IncomingMessage),
    ).toBeUndefined();
  });
});
