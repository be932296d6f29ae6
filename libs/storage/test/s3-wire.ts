import { Readable } from 'node:stream';

/**
 * A request handler for the AWS SDK's S3Client that sends nothing over the network: it records each
 * HTTP request the SDK would send and answers with a canned HTTP response. Used by the S3 driver's
 * wire-format tests.
 */
export interface CapturedRequest {
  method: string;
  hostname: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type Responder = (req: CapturedRequest) => CannedResponse | Error;

interface SdkHttpRequest {
  method: string;
  hostname: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks);
  }
  throw new Error(`unexpected request body type ${typeof body}`);
}

export function wireHandler(responder: Responder): {
  requests: CapturedRequest[];
  handler: Record<string, unknown>;
} {
  const requests: CapturedRequest[] = [];
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: SdkHttpRequest): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Readable } }> {
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.query ?? {})) query[k] = Array.isArray(v) ? v.join(',') : (v ?? '');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
      const captured: CapturedRequest = {
        method: request.method,
        hostname: request.hostname,
        path: request.path,
        query,
        headers,
        body: await bodyBytes(request.body),
      };
      requests.push(captured);
      const res = responder(captured);
      if (res instanceof Error) throw res;
      const body = res.body === undefined ? Buffer.alloc(0) : Buffer.from(res.body);
      return {
        response: {
          statusCode: res.status,
          headers: { 'content-length': String(body.length), ...(res.headers ?? {}) },
          body: Readable.from([body]),
        },
      };
    },
    updateHttpClientConfig(): void {
      /* nothing to configure */
    },
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {
      /* no sockets */
    },
  };
  return { requests, handler };
}

export function s3ErrorXml(code: string, message = code): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>r1</RequestId></Error>`;
}
