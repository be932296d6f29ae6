import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { APP_CONFIG, MockLlamaParseConfig } from '../app.config';
import { FaultConfigService } from '../faults/fault-config.service';
import { StatsService, WebhookOutcome } from '../faults/stats.service';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook.signature';

/** The fixed webhook body (see the project's webhook contract). */
export interface WebhookPayload {
  id: string;
  status: 'SUCCESS' | 'ERROR';
  event: 'parse.success' | 'parse.error';
  error_message?: string;
  job_metadata?: { job_pages: number };
}

/** The body of a v2 (`/api/v2/parse`) job webhook. */
export interface V2WebhookPayload {
  event_id: string;
  event_type: string;
  timestamp: string;
  data: {
    job_id: string;
    status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
    tier: string;
    version: string;
    project_id: string;
    error_message?: string;
    pages?: number;
  };
}

export interface WebhookTarget {
  url: string;
  secret?: string;
  /** The header that carries the signature; X-Webhook-Signature (v1) unless set. */
  signatureHeader?: string;
  /** Extra request headers (v2 `webhook_headers`). */
  headers?: Record<string, string>;
  /** `string`: the body is the payload JSON-encoded once more (a JSON string); `json` (default): the object. */
  bodyFormat?: 'json' | 'string';
}

/** The network cause (ECONNREFUSED, a timeout, ...), with its code where it has one. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.name}${typeof code === 'string' ? ` ${code}` : ''}: ${e.message}${cause}`;
}

function jobIdOf(payload: WebhookPayload | V2WebhookPayload): string {
  return 'data' in payload ? payload.data.job_id : payload.id;
}

type AttemptResult = { ok: true } | { ok: false; retry: boolean; reason: string };

/**
 * POSTs job webhooks: JSON body, `X-Webhook-Signature` when the job has a secret, a timeout per attempt, and
 * bounded retries with doubling backoff on network errors, timeouts, 429 and 5xx. Delivery runs in the
 * background; stopping the app aborts what is still in flight.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly logger = new Logger(WebhookSender.name);
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<WebhookOutcome>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: MockLlamaParseConfig,
    private readonly faults: FaultConfigService,
    private readonly stats: StatsService,
  ) {}

  /** Starts delivery (or drops it, by the configured rate) and resolves with the outcome; never rejects. */
  send(target: WebhookTarget, payload: WebhookPayload | V2WebhookPayload): Promise<WebhookOutcome> {
    if (this.faults.nextWebhookDropped()) {
      this.stats.webhook('dropped');
      this.logger.log(`webhook for job ${jobIdOf(payload)} dropped (injected fault)`);
      return Promise.resolve('dropped');
    }
    const delivery = this.deliver(target, payload).then((outcome) => {
      this.stats.webhook(outcome);
      return outcome;
    });
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
    return delivery;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(target: WebhookTarget, payload: WebhookPayload | V2WebhookPayload): Promise<WebhookOutcome> {
    const json = JSON.stringify(payload);
    const body = target.bodyFormat === 'string' ? JSON.stringify(json) : json;
    const headers: Record<string, string> = {
      ...target.headers,
      'Content-Type': 'application/json',
      'User-Agent': 'mock-llamaparse',
    };
    if (target.secret) headers[target.signatureHeader ?? SIGNATURE_HEADER] = signWebhookBody(target.secret, body);
    const attempts = 1 + this.config.MOCK_LLAMAPARSE_WEBHOOK_RETRIES;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(target.url, headers, body);
      if (result.ok) return 'sent';
      if (!result.retry || attempt >= attempts || this.stopping.signal.aborted) {
        this.logger.warn(`webhook for job ${jobIdOf(payload)} failed after ${attempt} attempt(s): ${result.reason}`);
        return 'failed';
      }
      this.stats.webhookRetry();
      try {
        await sleep(this.config.MOCK_LLAMAPARSE_WEBHOOK_BACKOFF_MS * 2 ** (attempt - 1), undefined, {
          signal: this.stopping.signal,
        });
      } catch {
        return 'failed';
      }
    }
  }

  /**
   * One POST through undici's `request` (the same undici Node bundles for `fetch`, without the WHATWG layer: about
   * half the client CPU a call, decisions.md #18); redirects are not followed, as `redirect: 'manual'` did.
   */
  private async attempt(url: string, headers: Record<string, string>, body: string): Promise<AttemptResult> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.config.MOCK_LLAMAPARSE_WEBHOOK_TIMEOUT_MS), this.stopping.signal]),
      });
      await res.body.dump().catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      return { ok: false, retry: res.statusCode === 429 || res.statusCode >= 500, reason: `HTTP ${res.statusCode}` };
    } catch (e) {
      return { ok: false, retry: true, reason: describeError(e) };
    }
  }
}
