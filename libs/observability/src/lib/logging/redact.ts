import type { IncomingMessage } from 'node:http';

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

/** At the top level, one level down and two levels down (`token`, `*.token`, `*.*.token`). */
function atDepthsUpToTwo(field: string): string[] {
  return [field, `*.${field}`, `*.*.${field}`];
}

/**
 * `redact.paths` for pino: secret headers wherever a `headers` object is logged (request and response
 * serializers included), secret-named fields at the top level and up to two levels deep, and URL-ish
 * fields (censored by `censorLogValue`, which only strips the query when it carries a signature).
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]),
  ...SECRET_FIELDS.flatMap(atDepthsUpToTwo),
  ...URL_FIELDS.flatMap(atDepthsUpToTwo),
]);

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

/** The censor for `REDACT_PATHS`: signed URLs lose their query, anything else becomes `[redacted]`. */
export function censorLogValue(value: unknown, path: string[]): unknown {
  const field = path[path.length - 1];
  if (field !== undefined && URL_FIELD_SET.has(field)) {
    return typeof value === 'string' && isSignedUrl(value) ? redactUrl(value) : value;
  }
  return REDACTED;
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
 * Header names that look like they carry a credential (`x-hub-signature-256`, `x-auth-token`,
 * `x-amz-security-token`, `x-api-key`, ...), beyond the known ones in `REDACT_PATHS`.
 */
const SECRET_LOOKING_HEADER = /auth|cookie|token|secret|signature|passw|api-?key|credential|session/i;

/**
 * Request serializer (runs on pino-std-serializers' output): the signed upload route and any URL with a
 * signature lose their query string, and the parsed `query` object goes with it. Any header whose name
 * looks like it carries a credential is redacted (on a copy: `headers` is the live request's object).
 * `params` is dropped: logged from the catch-all logging middleware it holds the wildcard's split path,
 * not the route's params.
 */
export function sanitizeRequest<T extends SerializedRequest>(req: T): T {
  delete req.params;
  const headers = req.headers;
  if (headers && Object.keys(headers).some((h) => SECRET_LOOKING_HEADER.test(h))) {
    req.headers = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, SECRET_LOOKING_HEADER.test(name) ? REDACTED : value]),
    );
  }
  const url = req.url;
  if (typeof url === 'string' && (url.startsWith(SIGNED_UPLOAD_PATH) || isSignedUrl(url))) {
    req.url = redactUrl(url);
    if (req.query !== undefined) req.query = REDACTED;
  }
  return req;
}
