import { request } from 'undici';

/** Statuses whose Response may not have a body (the Fetch standard's "null body status"). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for the OpenAI SDK's `fetch` option, over undici's `request` (the undici that Node's own fetch is built
 * on, pinned to the version Node 20.20 bundles). The SDK sends a URL, a method, Headers, a string body and a signal;
 * the answer is read whole and handed back as a Response, which is all the SDK reads. This costs half the client CPU
 * of Node's fetch a call (its WHATWG request and stream machinery; docs/decisions.md #18). Anything else the SDK might
 * send (a Request object, a streamed body for a file upload) goes to Node's fetch unchanged.
 */
export async function undiciFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const body = init.body;
  if (input instanceof Request || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) return fetch(input, init);
  let res: Awaited<ReturnType<typeof request>>;
  let bytes: ArrayBuffer;
  try {
    res = await request(String(input), {
      method: (init.method ?? 'GET').toUpperCase() as 'GET',
      headers: Object.fromEntries(new Headers(init.headers)),
      body: body ?? undefined,
      signal: init.signal ?? undefined,
    });
    // read inside the call: the caller's signal (the SDK's timeout) covers the body too
    bytes = await res.body.arrayBuffer();
  } catch (e) {
    // as fetch: an abort rejects as such, anything else as TypeError('fetch failed') with the cause (ECONNREFUSED,
    // UND_ERR_SOCKET, ...) where the SDK and classifyError look for it
    if (init.signal?.aborted || (e as Error | undefined)?.name === 'AbortError') throw e;
    throw new TypeError('fetch failed', { cause: e });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Response(NULL_BODY_STATUS.has(res.statusCode) ? null : bytes, { status: res.statusCode, headers });
}
