import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import { classifyError, classifyHttpStatus, getHeader, parseRetryAfter } from './classify';
import { BreakerOpenError, PermanentError, TransientError } from './errors';

describe('parseRetryAfter', () => {
  it('reads delta-seconds, including fractions', () => {
    expect(parseRetryAfter({ 'retry-after': '3' })).toBe(3000);
    expect(parseRetryAfter({ 'Retry-After': '0.25' })).toBe(250);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Wed, 01 Jan 2025 00:00:07 GMT' }, now)).toBe(7000);
    expect(parseRetryAfter({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }, now)).toBe(0);
  });

  it('prefers retry-after-ms and accepts fetch Headers', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '120', 'retry-after': '9' }))).toBe(120);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2000);
  });

  it('ignores garbage and absence', () => {
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after-ms': '-5' })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('getHeader is case-insensitive and takes the first of repeated values', () => {
    expect(getHeader({ 'X-A': ['1', '2'] }, 'x-a')).toBe('1');
    expect(getHeader({ n: 5 }, 'N')).toBe('5');
  });
});

describe('classifyHttpStatus', () => {
  it.each([408, 425, 429, 500, 502, 503, 504])('%i is transient', (status) => {
    const e = classifyHttpStatus(status, {}, { service: 'parser' });
    expect(e).toBeInstanceOf(TransientError);
    expect(e.status).toBe(status);
    expect(e.service).toBe('parser');
  });

  it.each([400, 401, 403, 404, 409, 413, 422])('%i is permanent', (status) => {
    const e = classifyHttpStatus(status);
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe(`http_${status}`);
  });

  it('429 carries retry-after and code rate_limited', () => {
    const e = classifyHttpStatus(429, { 'retry-after': '2' }) as TransientError;
    expect(e.code).toBe('rate_limited');
    expect(e.retryAfterMs).toBe(2000);
  });

  it('429 insufficient_quota is permanent', () => {
    const e = classifyHttpStatus(429, { 'retry-after': '1' }, { code: 'insufficient_quota', message: 'You exceeded your quota' });
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe('insufficient_quota');
    expect(e.message).toContain('You exceeded your quota');
  });

  it('a 4xx keeps the upstream code when given', () => {
    expect(classifyHttpStatus(400, {}, { code: 'invalid_request_error' }).code).toBe('invalid_request_error');
  });
});

describe('classifyError', () => {
  it('keeps classified errors and fills in the service', () => {
    const t = new TransientError('x');
    expect(classifyError(t, 'embedder')).toBe(t);
    expect(t.service).toBe('embedder');
    const p = new PermanentError('y', { code: 'bad', service: 'parser' });
    expect(classifyError(p, 'embedder')).toBe(p);
    expect(p.service).toBe('parser');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT'])(
    '%s (also nested in cause) is transient',
    (code) => {
      const direct = Object.assign(new Error('boom'), { code });
      expect(classifyError(direct)).toMatchObject({ kind: 'transient', code });
      const nested = new TypeError('fetch failed', { cause: new Error('inner', { cause: direct }) });
      const e = classifyError(nested, 'parser');
      expect(e).toBeInstanceOf(TransientError);
      expect(e.code).toBe(code);
      expect(e.cause).toBe(nested);
    },
  );

  it('AbortError and TimeoutError are transient', () => {
    expect(classifyError(new DOMException('aborted', 'AbortError'))).toMatchObject({ kind: 'transient', code: 'aborted' });
    expect(classifyError(new DOMException('t/o', 'TimeoutError'))).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(classifyError(new TaskCancelledError('t/o'))).toMatchObject({ kind: 'transient', code: 'timeout' });
  });

  it('cockatiel BrokenCircuitError becomes BreakerOpenError', () => {
    const e = classifyError(new BrokenCircuitError(), 'storage');
    expect(e).toBeInstanceOf(BreakerOpenError);
    expect(e).toBeInstanceOf(TransientError);
    expect(e.service).toBe('storage');
  });

  it('unknown errors are transient with code unknown', () => {
    expect(classifyError(new Error('weird'))).toMatchObject({ kind: 'transient', code: 'unknown', message: 'weird' });
    expect(classifyError('a string')).toMatchObject({ kind: 'transient', code: 'unknown' });
  });

  it('serialises to plain JSON', () => {
    const e = classifyHttpStatus(503, { 'retry-after': '1' }, { service: 'embedder' });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      kind: 'transient',
      code: 'http_503',
      message: 'embedder HTTP 503',
      service: 'embedder',
      status: 503,
      retryAfterMs: 1000,
    });
    expect(new PermanentError('bad', { code: 'x' }).toJSON()).toEqual({ kind: 'permanent', code: 'x', message: 'bad' });
  });
});
