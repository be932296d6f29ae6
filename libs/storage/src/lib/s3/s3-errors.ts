import { PermanentError, TransientError } from '@app/errors';
import {
  InvalidStorageKeyError,
  StorageError,
  StorageNotFoundError,
  StorageObjectTooLargeError,
  StorageUnavailableError,
} from '../storage.errors';

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

/**
 * The SDK's retry middleware replaces a thrown value that is not `instanceof Error` by
 * `new Error('AWS SDK error wrapper for ' + value)`, dropping its `code`. Node's own socket errors are such values when
 * the driver runs in another realm than Node's core (Jest's vm context): their name and code survive only in the text.
 */
const SDK_WRAPPER = /^AWS SDK error wrapper for (\w+)(?::\s*(.*))?$/s;

function fields(e: unknown): { name?: string; code?: string; status?: number; retryable: boolean } {
  if (typeof e !== 'object' || e === null) return { retryable: false };
  const a = e as AwsLikeError & { message?: unknown };
  const f = {
    name: typeof a.name === 'string' ? a.name : undefined,
    code: typeof a.code === 'string' ? a.code : undefined,
    status: typeof a.$metadata?.httpStatusCode === 'number' ? a.$metadata.httpStatusCode : undefined,
    retryable: a.$retryable !== undefined && a.$retryable !== null && a.$retryable !== false,
  };
  const wrapped = f.code === undefined && f.status === undefined && typeof a.message === 'string' ? SDK_WRAPPER.exec(a.message) : null;
  if (wrapped) {
    const text = wrapped[2] ?? '';
    if (wrapped[1] !== 'Error') f.name = wrapped[1];
    f.code = [...TRANSIENT_CODES].find((c) => text.includes(c)) ?? (/socket hang up/i.test(text) ? 'ECONNRESET' : undefined);
  }
  return f;
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

/** Errors that are the store's answer about the caller's request, not a failure of the store: never counted by a breaker. */
export function isStorageAnswer(e: unknown): boolean {
  return e instanceof StorageNotFoundError || e instanceof StorageObjectTooLargeError || e instanceof InvalidStorageKeyError;
}

/**
 * A mapped storage error as the ServicePolicy (and the job's retry logic) understands it: StorageUnavailableError ->
 * TransientError (counted by the breaker, retried), any other StorageError (AccessDenied, NoSuchBucket, other 4xx)
 * -> PermanentError. `code` names the cause: the network code, `http_<status>` or the S3 error name. The storage
 * error is kept as `cause` (its own `cause` is the SDK's error).
 */
export function classifyStorageError(e: StorageError): TransientError | PermanentError {
  const f = fields(e.cause);
  const code = f.code ?? (f.status !== undefined ? `http_${f.status}` : undefined) ?? f.name ?? 'storage_error';
  const opts = { code, service: 'storage', status: f.status, cause: e };
  return e instanceof StorageUnavailableError ? new TransientError(e.message, opts) : new PermanentError(e.message, opts);
}
