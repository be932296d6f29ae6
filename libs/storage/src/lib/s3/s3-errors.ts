import { StorageError, StorageNotFoundError, StorageUnavailableError } from '../storage.errors';

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound']);
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'ThrottlingException',
  'Throttling',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeoutException',
]);
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

interface AwsLikeError {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function fields(e: unknown): { name?: string; code?: string; status?: number; retryable: boolean } {
  if (typeof e !== 'object' || e === null) return { retryable: false };
  const a = e as AwsLikeError;
  return {
    name: typeof a.name === 'string' ? a.name : undefined,
    code: typeof a.code === 'string' ? a.code : undefined,
    status: typeof a.$metadata?.httpStatusCode === 'number' ? a.$metadata.httpStatusCode : undefined,
    retryable: a.$retryable !== undefined && a.$retryable !== null && a.$retryable !== false,
  };
}

export function isS3NotFound(e: unknown): boolean {
  const f = fields(e);
  return (f.name !== undefined && NOT_FOUND_NAMES.has(f.name)) || (f.status === 404 && f.name !== 'NoSuchBucket');
}

/**
 * NoSuchKey / NotFound (404) -> StorageNotFoundError; network errors, timeouts, throttling, 429 and
 * 5xx -> StorageUnavailableError (transient); anything else (403, NoSuchBucket, other 4xx) ->
 * StorageError (permanent). The SDK error is kept as `cause`.
 */
export function mapS3Error(e: unknown, what: string): Error {
  if (e instanceof StorageError) return e;
  if (isS3NotFound(e)) return new StorageNotFoundError(what, { cause: e });
  const f = fields(e);
  const label = f.name ?? f.code ?? 'Error';
  const message = e instanceof Error ? e.message : String(e);
  if (
    (f.status !== undefined && (f.status >= 500 || f.status === 429)) ||
    (f.name !== undefined && TRANSIENT_NAMES.has(f.name)) ||
    (f.code !== undefined && TRANSIENT_CODES.has(f.code)) ||
    f.retryable
  )
    return new StorageUnavailableError(`S3 unavailable (${label}${f.status ? ` ${f.status}` : ''}) on ${what}: ${message}`, { cause: e });
  return new StorageError(`S3 failed (${label}${f.status ? ` ${f.status}` : ''}) on ${what}: ${message}`, { cause: e });
}
