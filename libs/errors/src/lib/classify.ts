import { IsolatedCircuitError, TaskCancelledError, isBrokenCircuitError } from 'cockatiel';
import { BreakerOpenError, ClassifiedError, PermanentError, TransientError } from './errors';

/** Response headers as fetch (`Headers`), node:http (`IncomingHttpHeaders`) or a plain object give them. */
export type HeadersLike = Headers | Record<string, string | string[] | number | undefined | null> | null | undefined;

/** Case-insensitive header lookup; the first value when repeated. */
export function getHeader(headers: HeadersLike, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() !== wanted || v === undefined || v === null) continue;
    return Array.isArray(v) ? (v.length ? String(v[0]) : undefined) : String(v);
  }
  return undefined;
}

/**
 * Milliseconds the upstream asks us to wait, or undefined.
 * `retry-after-ms` (OpenAI) wins over `retry-after`, which is either delta-seconds or an HTTP date.
 */
export function parseRetryAfter(headers: HeadersLike, now: number = Date.now()): number | undefined {
  const ms = getHeader(headers, 'retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const ra = getHeader(headers, 'retry-after')?.trim();
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.ceil(Number(ra) * 1000);
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

export interface HttpClassifyOptions {
  /** Error code parsed from the body, e.g. OpenAI's `insufficient_quota`. */
  code?: string | null;
  /** Upstream message (from the body) to carry into the error message. */
  message?: string;
  service?: string;
  cause?: unknown;
}

/**
 * Classifies a non-2xx HTTP response.
 * Transient: 408, 425, 429 (unless `code` is `insufficient_quota`), 5xx; `retry-after`/`retry-after-ms` honoured.
 * Permanent: every other status (other 4xx, unexpected 1xx/3xx).
 */
export function classifyHttpStatus(
  status: number,
  headers?: HeadersLike,
  opts: HttpClassifyOptions = {},
): TransientError | PermanentError {
  const who = opts.service ? `${opts.service} ` : '';
  const detail = opts.message ? `: ${opts.message}` : '';
  const base = { service: opts.service, status, cause: opts.cause };
  if (status === 429 && opts.code === 'insufficient_quota')
    return new PermanentError(`${who}quota exhausted (HTTP 429)${detail}`, { ...base, code: 'insufficient_quota' });
  if (status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599)) {
    return new TransientError(`${who}HTTP ${status}${detail}`, {
      ...base,
      code: status === 429 ? 'rate_limited' : `http_${status}`,
      retryAfterMs: parseRetryAfter(headers),
    });
  }
  return new PermanentError(`${who}HTTP ${status}${detail}`, { ...base, code: opts.code || `http_${status}` });
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
]);

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_'))) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorName(err: unknown): string | undefined {
  return err && typeof err === 'object' ? String((err as { name?: unknown }).name ?? '') : undefined;
}

// Note: cockatiel 3.2.1's isTaskCancelledError / isIsolatedCircuitError test the wrong marker; use instanceof.

/**
 * Classifies anything thrown while calling a service.
 * Already-classified errors are returned as they are; cockatiel's open-breaker errors become BreakerOpenError;
 * network errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ..., undici `UND_ERR_*`, anywhere in the `cause` chain),
 * AbortError / TimeoutError and `fetch failed` are transient. Anything else unknown is also transient (code `unknown`):
 * the job's max-attempts bounds it, whereas a wrong "permanent" would dead-letter a job that could have succeeded.
 */
export function classifyError(err: unknown, service?: string): TransientError | PermanentError {
  if (err instanceof TransientError || err instanceof PermanentError) {
    if (service && (err as ClassifiedError).service === undefined) err.service = service;
    return err;
  }
  if (isBrokenCircuitError(err))
    return new BreakerOpenError(service ?? 'service', { cause: err, isolated: err instanceof IsolatedCircuitError });
  const message = err instanceof Error ? err.message : String(err);
  const prefix = service ? `${service}: ` : '';
  const code = networkCode(err);
  if (code) return new TransientError(`${prefix}network error ${code}: ${message}`, { code, service, cause: err });
  const name = errorName(err);
  if (name === 'TimeoutError' || err instanceof TaskCancelledError)
    return new TransientError(`${prefix}timed out: ${message}`, { code: 'timeout', service, cause: err });
  if (name === 'AbortError')
    return new TransientError(`${prefix}aborted: ${message}`, { code: 'aborted', service, cause: err });
  if (err instanceof TypeError && /fetch failed|network/i.test(message))
    return new TransientError(`${prefix}network error: ${message}`, { code: 'network', service, cause: err });
  return new TransientError(`${prefix}${message}`, { code: 'unknown', service, cause: err });
}
