/** How the pipeline treats a failure: `transient` -> job `retryable`, `permanent` -> job `deadletter`. */
export type ErrorKind = 'transient' | 'permanent';

/** Plain-JSON form of a classified error (for `upload_jobs.last_error`, logs, events). */
export interface ClassifiedErrorJson {
  kind: ErrorKind;
  code: string;
  message: string;
  service?: string;
  status?: number;
  retryAfterMs?: number;
}

export interface ClassifiedErrorOptions {
  /** Short machine-readable reason, e.g. `rate_limited`, `http_503`, `ECONNRESET`, `insufficient_quota`. */
  code?: string;
  /** The outside service the failure came from (`parser`, `embedder`, `storage`, ...). */
  service?: string;
  /** HTTP status of the upstream response, when there was one. */
  status?: number;
  cause?: unknown;
}

/** Base class of every classified error; use `instanceof TransientError` / `PermanentError` to decide. */
export abstract class ClassifiedError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: string;
  /** Set by the ServicePolicy when the thrower did not name it. */
  service?: string;
  readonly status?: number;

  protected constructor(message: string, defaultCode: string, opts: ClassifiedErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? defaultCode;
    this.service = opts.service;
    this.status = opts.status;
  }

  toJSON(): ClassifiedErrorJson {
    const json: ClassifiedErrorJson = { kind: this.kind, code: this.code, message: this.message };
    if (this.service !== undefined) json.service = this.service;
    if (this.status !== undefined) json.status = this.status;
    return json;
  }
}

export interface TransientErrorOptions extends ClassifiedErrorOptions {
  /** The upstream asked us to wait at least this long (from `retry-after` / `retry-after-ms`). */
  retryAfterMs?: number;
}

/** Worth retrying later: network failure, timeout, 408/425/429/5xx, breaker open. */
export class TransientError extends ClassifiedError {
  readonly kind = 'transient' as const;
  readonly retryAfterMs?: number;

  constructor(message: string, opts: TransientErrorOptions = {}) {
    super(message, 'transient', opts);
    if (opts.retryAfterMs !== undefined && Number.isFinite(opts.retryAfterMs) && opts.retryAfterMs >= 0)
      this.retryAfterMs = opts.retryAfterMs;
  }

  override toJSON(): ClassifiedErrorJson {
    const json = super.toJSON();
    if (this.retryAfterMs !== undefined) json.retryAfterMs = this.retryAfterMs;
    return json;
  }
}

export interface PermanentErrorOptions extends ClassifiedErrorOptions {
  code: string;
}

/** Retrying will not help: bad input, 4xx other than 408/425/429, quota exhausted, malformed document. */
export class PermanentError extends ClassifiedError {
  readonly kind = 'permanent' as const;

  constructor(message: string, opts: PermanentErrorOptions) {
    super(message, opts.code, opts);
  }
}

/** Thrown without calling the service while its circuit breaker is open (or isolated). Transient. */
export class BreakerOpenError extends TransientError {
  constructor(service: string, opts: { retryAfterMs?: number; cause?: unknown; isolated?: boolean } = {}) {
    super(
      opts.isolated
        ? `circuit breaker for ${service} is held open (isolated)`
        : `circuit breaker for ${service} is open; failing fast`,
      { code: 'breaker_open', service, retryAfterMs: opts.retryAfterMs, cause: opts.cause },
    );
  }
}

export function isTransientError(err: unknown): err is TransientError {
  return err instanceof TransientError;
}

export function isPermanentError(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}
