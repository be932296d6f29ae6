import { request } from 'undici';
import { currentCorrelationId } from '@app/observability';
import { ServicePolicy } from '@app/circuit-breaker';
import { PermanentError, TransientError, classifyError, classifyHttpStatus } from '@app/errors';
import { LlamaParseOptions } from './parser-client.config';
import { ParserCallOptions } from './parser-client.interface';

export const SERVICE = 'parser';
/** A job id that cannot exist: ping() asks for it and any answer below 500 but 401/403 proves reachability. */
export const PING_JOB_ID = '00000000-0000-0000-0000-000000000000';
/**
 * Redirects followed by the GETs, as fetch followed them (a base URL moved to https, a gateway). The upload is not
 * redirected: a 3xx there is an error to fix in LLAMAPARSE_BASE_URL, not a body to send again.
 */
export const MAX_REDIRECTS = 5;
/** Wait after a 429 that names no `retry-after` (LlamaParse's upload rate limit sends none). */
export const DEFAULT_RATE_LIMIT_BACKOFF_MS = 5_000;
/** Error code of an out-of-credit answer (HTTP 402): permanent, the user must add credits. */
export const PARSER_QUOTA_EXHAUSTED = 'parser_quota_exhausted';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Pulls a human message and code out of LlamaParse (`{detail}`), FastAPI (`{detail:[{msg}]}`) or OpenAI-style bodies. */
function describeErrorBody(text: string): { message?: string; code?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 300) || undefined };
  }
  if (!isObject(body)) return {};
  const detail = body['detail'];
  if (typeof detail === 'string') return { message: detail.slice(0, 300) };
  if (Array.isArray(detail))
    return {
      message: detail
        .map((d) => (isObject(d) && typeof d['msg'] === 'string' ? d['msg'] : JSON.stringify(d)))
        .join('; ')
        .slice(0, 300),
    };
  const err = body['error'];
  if (isObject(err))
    return {
      message: typeof err['message'] === 'string' ? err['message'].slice(0, 300) : undefined,
      code: typeof err['code'] === 'string' ? err['code'] : undefined,
    };
  return typeof body['message'] === 'string' ? { message: body['message'].slice(0, 300) } : {};
}

/** One answer of the parser, as undici's `request` gives it (its body must be read or dumped). */
export type Answer = Awaited<ReturnType<typeof request>>;

/**
 * A non-2xx answer as an error, with the parser's own message and code when its body has them.
 * 402 (out of credits) is permanent with the code `parser_quota_exhausted` and a message the user can act on;
 * a 429 without `retry-after` waits `rateLimitBackoffMs` (the policy retries no sooner, or hands it to the job's
 * retry when that is longer than it waits in-process).
 */
export function statusError(res: Answer, text: string, what: string, rateLimitBackoffMs = DEFAULT_RATE_LIMIT_BACKOFF_MS): TransientError | PermanentError {
  const { message, code } = describeErrorBody(text);
  if (res.statusCode === 402)
    return new PermanentError(
      `LlamaParse refused the ${what}: the account is out of credits or over its plan's limit (HTTP 402${message ? `: ${message}` : ''}). ` +
        'Add credits or raise the plan in LlamaCloud, then retry the document.',
      { code: PARSER_QUOTA_EXHAUSTED, service: SERVICE, status: 402 },
    );
  const err = classifyHttpStatus(res.statusCode, res.headers, {
    service: SERVICE,
    code,
    message: message ? `${what}: ${message}` : what,
  });
  if (err instanceof TransientError && res.statusCode === 429 && err.retryAfterMs === undefined)
    return new TransientError(err.message, { code: err.code, service: SERVICE, status: 429, retryAfterMs: rateLimitBackoffMs });
  return err;
}

/** Reads a 2xx JSON body: unparseable (truncated) is transient, a well-formed body of the wrong shape permanent. */
async function readJson(res: Answer, what: string): Promise<Json> {
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new TransientError(`${what}: response is not JSON`, { code: 'bad_response', service: SERVICE, cause: e });
  }
  if (!isObject(body)) throw badShape(what, 'expected a JSON object');
  return body;
}

export function badShape(what: string, detail: string): PermanentError {
  return new PermanentError(`${what}: unexpected response (${detail})`, { code: 'bad_response', service: SERVICE });
}

/**
 * What the LlamaParse drivers (v1, v2) share: options, bearer auth with the correlation id, calls through the
 * `parser` ServicePolicy (timeout per attempt, retry, breaker) and the classification of answers.
 * HTTP by undici's `request` (pooled keep-alive connections), not `fetch`: on this path every document makes two
 * calls, and `fetch` (WHATWG streams, Request and Response objects) cost twice the CPU a call (docs/performance.md).
 */
export abstract class LlamaParseHttp {
  protected readonly baseUrl: string;
  protected readonly timeoutMs: number;
  protected readonly uploadTimeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly rateLimitBackoffMs: number;

  constructor(
    protected readonly options: LlamaParseOptions,
    private readonly policy: ServicePolicy,
    name: string,
  ) {
    if (!options.baseUrl) throw new Error(`${name}: baseUrl is required`);
    if (!options.apiKey) throw new Error(`${name}: apiKey is required`);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.uploadTimeoutMs = options.uploadTimeoutMs ?? Math.max(this.timeoutMs, 120_000);
    this.pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
    this.rateLimitBackoffMs = options.rateLimitBackoffMs ?? DEFAULT_RATE_LIMIT_BACKOFF_MS;
  }

  protected get authHeaders(): Record<string, string> {
    const correlationId = currentCorrelationId();
    return {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
      ...(correlationId ? { 'x-request-id': correlationId } : {}),
    };
  }

  protected run<T>(
    what: string,
    timeoutMs: number,
    opts: ParserCallOptions | undefined,
    attempt: (signal: AbortSignal) => Promise<Answer>,
    parse: (body: Json) => T,
  ): Promise<T> {
    return this.policy.execute(
      async (signal) => {
        const res = await attempt(signal);
        if (res.statusCode < 200 || res.statusCode > 299)
          throw statusError(res, await res.body.text().catch(() => ''), what, this.rateLimitBackoffMs);
        // The body is read inside the attempt, so the per-attempt timeout covers it too.
        return parse(await readJson(res, what));
      },
      // keyed by the job (its correlation id): one document's repeated failures count once toward the breaker
      { signal: opts?.signal, timeoutMs, inputKey: currentCorrelationId() },
    );
  }

  /** A GET of `url` through the policy (redirects followed). */
  protected get<T>(what: string, url: string, opts: ParserCallOptions | undefined, parse: (body: Json) => T): Promise<T> {
    return this.run(what, this.timeoutMs, opts, (signal) => request(url, { headers: this.authHeaders, signal, maxRedirections: MAX_REDIRECTS }), parse);
  }

  /** Reachability and credentials: GET `url` (a job that cannot exist), outside the policy. */
  protected async pingUrl(url: string, opts?: ParserCallOptions): Promise<void> {
    const signals = [AbortSignal.timeout(this.pingTimeoutMs), ...(opts?.signal ? [opts.signal] : [])];
    let res: Answer;
    let text: string;
    try {
      res = await request(url, { headers: this.authHeaders, signal: AbortSignal.any(signals), maxRedirections: MAX_REDIRECTS });
      text = await res.body.text();
    } catch (e) {
      throw classifyError(e, SERVICE);
    }
    if (res.statusCode >= 500 || res.statusCode === 401 || res.statusCode === 403) throw statusError(res, text, 'ping');
  }
}
