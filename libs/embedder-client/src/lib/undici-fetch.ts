import { request } from 'undici';

/** Statuses whose Response may not have a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** Redirects followed by a GET (as fetch would). A POST is not sent again to another address. */
const MAX_REDIRECTS = 5;

/**
 * The `fetch` the openai SDK is given: one call of undici's `request` (pooled keep-alive connections) and a Response
 * over the body read in full. Node's fetch builds a Request, clones its body through a web stream tee and runs the
 * whole fetch algorithm for every call: about twice the CPU a call of `request` (docs/performance.md, round 5, for
 * the parser's calls). The SDK sees what it needs: status, headers, the body (`json()`, `text()`), and an AbortError
 * when its signal fires (its timeouts and our cancellations). Not for streamed responses: the body is buffered.
 */
export async function undiciFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('undiciFetch takes a URL, not a Request');
  const method = (init.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body = init.body;
  if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
    throw new TypeError('undiciFetch sends a string or bytes body only');
  let res: Awaited<ReturnType<typeof request>>;
  let bytes: ArrayBuffer;
  try {
    res = await request(input, {
      method: method as 'GET',
      headers,
      body: body ?? undefined,
      signal: init.signal ?? undefined,
      maxRedirections: method === 'GET' || method === 'HEAD' ? MAX_REDIRECTS : 0,
    });
    bytes = await res.body.arrayBuffer();
  } catch (e) {
    // as fetch fails: an abort as it is (named AbortError), anything else as TypeError('fetch failed') with the
    // network error (its code, e.g. ECONNREFUSED) as the cause
    if ((e as { name?: unknown } | null)?.name === 'AbortError') throw e;
    throw new TypeError('fetch failed', { cause: e });
  }
  const out = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) out.append(name, v);
    else if (value !== undefined) out.set(name, value);
  }
  const nullBody = NULL_BODY.has(res.statusCode) || method === 'HEAD';
  return new Response(nullBody ? null : bytes, { status: res.statusCode, headers: out });
}
