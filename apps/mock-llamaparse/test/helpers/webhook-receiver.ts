import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

/**
 * A local HTTP server on a free port (port 0) that records every request and answers with the next status of
 * `statuses` (the last one repeats; default 200).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  private statuses: number[];

  private constructor(
    private readonly server: Server,
    statuses: number[],
  ) {
    this.statuses = [...statuses];
  }

  static async start(statuses: number[] = [200]): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, statuses);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => receiver.record({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks) }, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  private record(hook: ReceivedWebhook, res: ServerResponse): void {
    this.received.push(hook);
    const status = this.statuses.length > 1 ? (this.statuses.shift() as number) : this.statuses[0];
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    this.waiters = this.waiters.filter((w) => (this.received.length >= w.count ? (w.resolve(), false) : true));
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Resolves once `count` requests have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} webhook(s), got ${this.received.length}`)), timeoutMs);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  json(i: number): unknown {
    return JSON.parse(this.received[i].rawBody.toString('utf8'));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
