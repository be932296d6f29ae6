import { Agent, IncomingHttpHeaders, request } from 'node:http';

export interface RawRequest {
  method: string;
  /** Sent as it is (percent-encode anything outside visible ASCII first). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A bare HTTP/1.1 client for fuzzing: sends the path, headers and bytes exactly as given (no JSON
 * encoding, no redirects, no retries), with a hard per-request timeout so a hang fails the case.
 * The timeout detects hangs, not slowness: it allows for a CI machine whose two cores run several
 * suites at once, where an answer that takes 50 ms alone can take seconds.
 */
export class FuzzClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    private readonly port: number,
    private readonly timeoutMs = 15_000,
  ) {}

  send(r: RawRequest): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      let answered = false;
      // Node frames a GET/DELETE body only with an explicit Content-Length (else it writes it unframed)
      const headers = r.body ? { ...r.headers, 'content-length': String(r.body.length) } : (r.headers ?? {});
      const req = request(
        { host: '127.0.0.1', port: this.port, method: r.method, path: r.path, headers, agent: this.agent },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms: ${r.method} ${r.path.slice(0, 200)}`)));
      // The server may answer (413, 415, ...) and stop reading before the body is out: that is an answer, not an error.
      req.on('error', (e) => {
        if (!answered) reject(e);
      });
      req.end(r.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A short printable description of a request, for failure messages. */
export function describeRequest(r: RawRequest): string {
  const body = r.body ? ` body(${r.body.length}): ${JSON.stringify(r.body.subarray(0, 120).toString('latin1'))}` : '';
  return `${r.method} ${r.path.slice(0, 300)} headers: ${JSON.stringify(r.headers ?? {}).slice(0, 300)}${body}`;
}
