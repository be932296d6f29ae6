import { Injectable, Logger } from '@nestjs/common';
import { Client } from 'pg';
import { JOBS_NOTIFY_CHANNEL } from '@app/database';

/**
 * LISTENs on the jobs channel with a dedicated connection (not from the pool) and calls back on
 * every NOTIFY. Reconnects with backoff when the connection drops; the worker's polling covers the gap.
 */
@Injectable()
export class JobNotificationsService {
  private readonly logger = new Logger(JobNotificationsService.name);
  private client: Client | null = null;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  connected = false;

  async start(url: string, onNotify: (stage: string) => void): Promise<void> {
    this.stopped = false;
    await this.connect(url, onNotify);
  }

  private async connect(url: string, onNotify: (stage: string) => void): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: url, application_name: 'ingest-worker-listen', keepAlive: true });
    const reconnect = () => {
      if (this.client !== client) return;
      this.client = null;
      this.connected = false;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      const delay = Math.min(10_000, 200 * 2 ** this.attempt++);
      this.retryTimer = setTimeout(() => void this.connect(url, onNotify), delay);
    };
    client.on('notification', (n) => onNotify(n.payload ?? ''));
    client.on('error', (e) => {
      this.logger.warn(`LISTEN connection error: ${e.message}`);
      reconnect();
    });
    client.on('end', reconnect);
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${JOBS_NOTIFY_CHANNEL}`);
      this.connected = true;
      this.attempt = 0;
      onNotify('connected'); // catch up on anything queued while we were not listening
    } catch (e) {
      this.logger.warn(`LISTEN connect failed: ${(e as Error).message}`);
      reconnect();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    this.connected = false;
    await c?.end().catch(() => undefined);
  }
}
