import { request } from 'undici';
import { currentCorrelationId } from '@app/observability';
import { ServicePolicy } from '@app/circuit-breaker';
import { PermanentError, TransientError, classifyError, classifyHttpStatus } from '@app/errors';
import { LlamaParseOptions } from './parser-client.config';
import {
  ParserCallOptions,
  ParserClient,
  ParserJobStatus,
  ParserMarkdownResult,
  ParserStatusResult,
  ParserSubmitRequest,
} from './parser-client.interface';

const SERVICE = 'parser';
/** A job id that cannot exist: ping() asks for it and any answer below 500 but 401/403 proves reachability. */
const PING_JOB_ID = '00000000-0000-0000-0000-000000000000';
/**
 * Redirects followed by the GETs, as fetch followed them (a base URL moved to https, a gateway). The upload is not
 * redirected: a 3xx there is an error to fix in LLAMAPARSE_BASE_URL, not a body to send again.
 */
const MAX_REDIRECTS = 5;

const STATUS_MAP: Record<string, ParserJobStatus> = {
  PENDING: 'PENDING',
  SUCCESS: 'SUCCESS',
  PARTIAL_SUCCESS: 'SUCCESS',
  ERROR: 'ERROR',
  CANCELED: 'CANCELED',
  CANCELLED: 'CANCELED',
};

/**
 * A status as LlamaParse spells it (job status answers and completion webhooks; any case, PARTIAL_SUCCESS counts
 * as SUCCESS) in the client's terms; undefined for anything else.
 */
export function parserJobStatusOf(raw: unknown): ParserJobStatus | undefined {
  const key = typeof raw === 'string' ? raw.toUpperCase() : '';
  return Object.hasOwn(STATUS_MAP, key) ? STATUS_MAP[key] : undefined;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
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
type Answer = Awaited<ReturnType<typeof request>>;

/** A non-2xx answer as an error, with the parser's own message and code when its body has them. */
function statusError(res: Answer, text: string, what: string): TransientError | PermanentError {
  const { message, code } = describeErrorBody(text);
  return classifyHttpStatus(res.statusCode, res.headers, {
    service: SERVICE,
    code,
    message: message ? `${what}: ${message}` : what,
  });
}

async function httpError(res: Answer, what: string): Promise<TransientError | PermanentError> {
  return statusError(res, await res.body.text().catch(() => ''), what);
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

function badShape(what: string, detail: string): PermanentError {
  return new PermanentError(`${what}: unexpected response (${detail})`, { code: 'bad_response', service: SERVICE });
}

/**
 * LlamaParse v1 REST driver (works against the real service and apps/mock-llamaparse).
 * Every call runs through the `parser` ServicePolicy (timeout per attempt, retry, breaker).
 * HTTP by undici's `request` (pooled keep-alive connections), not `fetch`: on this path every document makes two
 * calls, and `fetch` (WHATWG streams, Request and Response objects) cost twice the CPU a call (docs/performance.md).
 */
export class LlamaParseClient implements ParserClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly uploadTimeoutMs: number;
  private readonly pingTimeoutMs: number;

  constructor(
    private readonly options: LlamaParseOptions,
    private readonly policy: ServicePolicy,
  ) {
    if (!options.baseUrl) throw new Error('LlamaParseClient: baseUrl is required');
    if (!options.apiKey) throw new Error('LlamaParseClient: apiKey is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.uploadTimeoutMs = options.uploadTimeoutMs ?? Math.max(this.timeoutMs, 120_000);
    this.pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  }

  private url(path: string): string {
    return `${this.baseUrl}/api/v1/parsing${path}`;
  }

  private get authHeaders(): Record<string, string> {
    const correlationId = currentCorrelationId();
    return {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
      ...(correlationId ? { 'x-request-id': correlationId } : {}),
    };
  }

  private run<T>(
    what: string,
    timeoutMs: number,
    opts: ParserCallOptions | undefined,
    attempt: (signal: AbortSignal) => Promise<Answer>,
    parse: (body: Json) => T,
  ): Promise<T> {
    return this.policy.execute(
      async (signal) => {
        const res = await attempt(signal);
        if (res.statusCode < 200 || res.statusCode > 299) throw await httpError(res, what);
        // The body is read inside the attempt, so the per-attempt timeout covers it too.
        return parse(await readJson(res, what));
      },
      { signal: opts?.signal, timeoutMs },
    );
  }

  submit(req: ParserSubmitRequest, opts?: ParserCallOptions): Promise<{ parserJobId: string }> {
    return this.run(
      'upload',
      this.uploadTimeoutMs,
      opts,
      (signal) => {
        // Rebuilt on every attempt: a FormData body is consumed by the request.
        const form = new FormData();
        form.append('file', new Blob([req.body], { type: req.mime }), req.fileName);
        form.append('result_type', 'markdown');
        if (req.webhookUrl) form.append('webhook_url', req.webhookUrl);
        if (req.webhookSecret) form.append('webhook_secret', req.webhookSecret);
        for (const [k, v] of Object.entries(this.options.uploadFields ?? {})) form.append(k, v);
        return request(this.url('/upload'), { method: 'POST', headers: this.authHeaders, body: form, signal });
      },
      (body) => {
        const id = body['id'];
        if (typeof id !== 'string' || !id) throw badShape('upload', 'no job id');
        return { parserJobId: id };
      },
    );
  }

  status(parserJobId: string, opts?: ParserCallOptions): Promise<ParserStatusResult> {
    return this.run(
      'job status',
      this.timeoutMs,
      opts,
      (signal) => request(this.url(`/job/${encodeURIComponent(parserJobId)}`), { headers: this.authHeaders, signal, maxRedirections: MAX_REDIRECTS }),
      (body) => {
        const status = parserJobStatusOf(body['status']);
        if (!status) throw badShape('job status', `unknown status ${JSON.stringify(body['status'])}`);
        const result: ParserStatusResult = { status };
        const msg = body['error_message'] ?? body['error'];
        if (typeof msg === 'string' && msg) result.errorMessage = msg;
        return result;
      },
    );
  }

  markdown(parserJobId: string, opts?: ParserCallOptions): Promise<ParserMarkdownResult> {
    return this.run(
      'markdown result',
      this.timeoutMs,
      opts,
      (signal) =>
        request(this.url(`/job/${encodeURIComponent(parserJobId)}/result/markdown`), { headers: this.authHeaders, signal, maxRedirections: MAX_REDIRECTS }),
      (body) => {
        const markdown = body['markdown'];
        if (typeof markdown !== 'string') throw badShape('markdown result', 'no markdown');
        const meta = body['job_metadata'];
        const pages = isObject(meta) ? Number(meta['job_pages']) : NaN;
        return { markdown, pages: Number.isFinite(pages) && pages >= 0 ? pages : 0 };
      },
    );
  }

  async ping(opts?: ParserCallOptions): Promise<void> {
    const signals = [AbortSignal.timeout(this.pingTimeoutMs), ...(opts?.signal ? [opts.signal] : [])];
    let res: Answer;
    let text: string;
    try {
      res = await request(this.url(`/job/${PING_JOB_ID}`), { headers: this.authHeaders, signal: AbortSignal.any(signals), maxRedirections: MAX_REDIRECTS });
      text = await res.body.text();
    } catch (e) {
      throw classifyError(e, SERVICE);
    }
    if (res.statusCode >= 500 || res.statusCode === 401 || res.statusCode === 403) throw statusError(res, text, 'ping');
  }
}
