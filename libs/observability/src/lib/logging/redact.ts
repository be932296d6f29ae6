import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a redacted secret is replaced with in log output. */
export const REDACTED = '[redacted]';

/** Path of the local storage driver's signed upload route (its query carries `sig` and `expires`). */
export const SIGNED_UPLOAD_PATH = '/api/v2/storage/upload';

/** Query parameters that make a URL a bearer credential (our local signature, S3 presigning, tokens). */
const SIGNED_QUERY_PARAM = /(?:^|[?&])(?:sig|signature|expires|token|access_token|x-amz-signature|x-amz-credential|x-amz-security-token)=/i;

const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-webhook-signature', 'x-api-key', 'proxy-authorization'];
const SECRET_FIELDS = ['token', 'secret', 'password', 'webhook_secret', 'apiKey', 'api_key', 'access_token', 'refresh_token', 'jwt'];
/** String fields that may hold a signed URL: redacted by `redactUrl` only when they carry a signature. */
const URL_FIELDS = ['url', 'signed_url', 'signedUrl', 'upload_url', 'webhook_url'];

const URL_FIELD_SET = new Set(URL_FIELDS);

const SECRET_FIELD_SET = new Set(SECRET_FIELDS);
const SECRET_HEADER_SET = new Set(SECRET_HEADERS);

/** A plain object or array (not a request, response, error or other class instance: serializers handle those). */
function isPlainContainer(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * One level of `censorLogObject`: secret-named fields become `[redacted]`, URL-ish fields lose a signed
 * query, `headers` objects (at the top level and one down) lose their credential headers, and plain
 * objects are descended into up to depth 2. Copy on write: the caller's objects are never changed.
 */
function censorLevel<T extends Record<string, unknown>>(obj: T, depth: number, isHeaders: boolean): T {
  let out: Record<string, unknown> = obj;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    let next = value;
    if (SECRET_FIELD_SET.has(key) || (isHeaders && SECRET_HEADER_SET.has(key))) {
      next = REDACTED;
    } else if (URL_FIELD_SET.has(key)) {
      if (typeof value === 'string' && isSignedUrl(value)) next = redactUrl(value);
    } else if (depth < 2 && isPlainContainer(value)) {
      next = censorLevel(value, depth + 1, key === 'headers' && depth <= 1);
    }
    if (next !== value) {
      if (out === obj) out = Array.isArray(obj) ? [...(obj as unknown[])] as unknown as Record<string, unknown> : { ...obj };
      out[key] = next;
    }
  }
  return out as T;
}

/**
 * The redaction of every log object (pino `formatters.log`), in one pass over it:
 *  - secret-named fields (`token`, `secret`, `password`, `webhook_secret`, `api_key`, ...) at the top
 *    level and up to two levels down become `[redacted]`;
 *  - credential headers (`authorization`, `cookie`, `x-webhook-signature`, ...) of a `headers` object at
 *    the top level or one level down become `[redacted]`;
 *  - URL-ish fields (`url`, `signed_url`, ...) up to two levels down lose their query string when it
 *    carries a signature.
 * Class instances (requests, responses, errors) are left to their serializers: `sanitizeRequest` and
 * `sanitizeResponse` censor what those put out. It replaced pino's path-based `redact` (54 paths, most
 * with a leading wildcard, which sent every binding and field through the redactor) that cost ~7 % of
 * the api's CPU per request.
 */
export function censorLogObject<T extends Record<string, unknown>>(obj: T): T {
  return censorLevel(obj, 0, false);
}

/** True when `url` has a query parameter that makes it a credential (`sig=`, `X-Amz-Signature=`, ...). */
export function isSignedUrl(url: string): boolean {
  const q = url.indexOf('?');
  return q >= 0 && SIGNED_QUERY_PARAM.test(url.slice(q));
}

/**
 * `url` without its query string and fragment (where signatures and expiries live), with `?[redacted]`
 * marking that there was one: `https://h/api/v2/storage/upload?key=..&sig=..` -> `https://h/api/v2/storage/upload?[redacted]`.
 * A URL without a query is returned as it is.
 */
export function redactUrl(url: string): string {
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : `${url.slice(0, cut)}?${REDACTED}`;
}

/** The shape pino-std-serializers gives a request (the parts we touch). */
export interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  query?: unknown;
  params?: unknown;
  headers?: Record<string, unknown>;
  remoteAddress?: string;
  remotePort?: number;
  raw?: IncomingMessage;
}

/**
 * The request headers a request's log line keeps: who sent it and what it carried. The others (the request id is the
 * line's `req.id`; `accept`, `connection`, credentials, signatures) are left out: they made up most of every line.
 */
const LOGGED_REQUEST_HEADERS = ['host', 'user-agent', 'content-type', 'content-length', 'x-forwarded-for', 'referer'];

/**
 * Request serializer (runs on pino-std-serializers' output): the signed upload route and any URL with a
 * signature lose their query string, and the parsed `query` object goes with it. Only the headers in
 * `LOGGED_REQUEST_HEADERS` are logged, on a copy (`headers` is the live request's object), so no credential
 * header reaches a log line. `params` is dropped: logged from the catch-all logging middleware it holds the
 * wildcard's split path, not the route's params.
 */
export function sanitizeRequest<T extends SerializedRequest>(req: T): T {
  delete req.params;
  if (req.headers) req.headers = pickHeaders(req.headers, LOGGED_REQUEST_HEADERS);
  const url = req.url;
  if (typeof url === 'string' && (url.startsWith(SIGNED_UPLOAD_PATH) || isSignedUrl(url))) {
    req.url = redactUrl(url);
    if (req.query !== undefined) req.query = REDACTED;
  }
  return req;
}

/** The named headers that are present, in a new object. */
function pickHeaders(headers: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

/** The shape pino-std-serializers gives a response. */
export interface SerializedResponse {
  statusCode?: number;
  headers?: Record<string, unknown>;
}

/**
 * Response serializer: the status and the length sent. The other response headers are the same on every response
 * (helmet's security headers, the request id) and were most of a line; `set-cookie` and the like never reach a log.
 */
export function sanitizeResponse<T extends SerializedResponse>(res: T): T {
  const length = res.headers?.['content-length'];
  return { ...res, headers: length === undefined ? {} : { 'content-length': length } };
}

type LoggedRequest = IncomingMessage & { id?: unknown; originalUrl?: string; path?: unknown; query?: unknown };

/**
 * A request's log fields in one step: what pino-std-serializers' request serializer followed by `sanitizeRequest` gives
 * (`id, method, url, query, headers, remoteAddress, remotePort`, in that order), without the intermediate object.
 */
export function serializeRequest(req: LoggedRequest): SerializedRequest {
  const id = typeof req.id === 'function' ? (req.id as () => unknown)() : req.id || undefined;
  let url: string | undefined;
  if (req.originalUrl) url = req.originalUrl;
  else url = typeof req.path === 'string' ? req.path : req.url;
  const out: SerializedRequest = { id, method: req.method, url };
  const query = req.query;
  if (query) out.query = query;
  out.headers = pickHeaders(req.headers, LOGGED_REQUEST_HEADERS);
  out.remoteAddress = req.socket?.remoteAddress;
  out.remotePort = req.socket?.remotePort;
  if (typeof url === 'string' && (url.startsWith(SIGNED_UPLOAD_PATH) || isSignedUrl(url))) {
    out.url = redactUrl(url);
    if (out.query !== undefined) out.query = REDACTED;
  }
  return out;
}

/** A response's log fields in one step: what pino-std-serializers' response serializer followed by `sanitizeResponse` gives. */
export function serializeResponse(res: ServerResponse): SerializedResponse {
  const length = res.getHeader('content-length');
  return { statusCode: res.headersSent ? res.statusCode : (null as unknown as number), headers: length === undefined ? {} : { 'content-length': length } };
}
