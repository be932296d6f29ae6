import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, MockLlamaParseConfig } from '../app.config';
import { Prng } from './prng';

/** The fault knobs, changed at runtime through `PUT /_mock/config` (camelCase of the MOCK_LLAMAPARSE_* variables). */
export interface FaultSettings {
  /** Added to the parse time of every job (ms). */
  latencyMs: number;
  /** Fraction of /api/v1 requests answered 500 or 503. */
  errorRate: number;
  /** Fraction of /api/v1 requests answered 429 with `retry-after`. */
  rateLimitRate: number;
  /** `retry-after` seconds of the injected 429s. */
  retryAfterSeconds: number;
  /** Fraction of /api/v1 requests held for `timeoutMs` and then answered 504 (or cut when the app stops). */
  timeoutRate: number;
  timeoutMs: number;
  /** Fraction of webhooks never sent (the job still finishes). */
  dropWebhookRate: number;
  /** PRNG seed; setting it (even to the same value) restarts the fault sequences. */
  seed: number;
}

export type RequestFault =
  | { kind: 'none' }
  | { kind: 'timeout'; ms: number }
  | { kind: 'error'; status: 500 | 503 }
  | { kind: 'rateLimit'; retryAfterSeconds: number };

const REQUEST_STREAM = 1;
const WEBHOOK_STREAM = 2;

@Injectable()
export class FaultConfigService {
  private settings: FaultSettings;
  private requestRng!: Prng;
  private webhookRng!: Prng;

  constructor(@Inject(APP_CONFIG) config: MockLlamaParseConfig) {
    this.settings = {
      latencyMs: config.MOCK_LLAMAPARSE_LATENCY_MS,
      errorRate: config.MOCK_LLAMAPARSE_ERROR_RATE,
      rateLimitRate: config.MOCK_LLAMAPARSE_RATE_LIMIT_RATE,
      retryAfterSeconds: config.MOCK_LLAMAPARSE_RETRY_AFTER_S,
      timeoutRate: config.MOCK_LLAMAPARSE_TIMEOUT_RATE,
      timeoutMs: config.MOCK_LLAMAPARSE_TIMEOUT_MS,
      dropWebhookRate: config.MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE,
      seed: config.MOCK_SEED,
    };
    this.reseed();
  }

  get(): FaultSettings {
    return { ...this.settings };
  }

  /** Merges `patch` into the settings; a `seed` in it restarts the PRNG streams. */
  update(patch: Partial<FaultSettings>): FaultSettings {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    this.settings = { ...this.settings, ...defined };
    if (patch.seed !== undefined) this.reseed();
    return this.get();
  }

  /**
   * The fault for one /api/v1 request. Always draws four numbers, so the sequence of outcomes depends only on
   * the seed, the settings and the order of requests. Precedence: timeout, then 5xx, then 429.
   */
  nextRequestFault(): RequestFault {
    const [timeout, error, which, limit] = [0, 0, 0, 0].map(() => this.requestRng.next());
    const s = this.settings;
    if (timeout < s.timeoutRate) return { kind: 'timeout', ms: s.timeoutMs };
    if (error < s.errorRate) return { kind: 'error', status: which < 0.5 ? 500 : 503 };
    if (limit < s.rateLimitRate) return { kind: 'rateLimit', retryAfterSeconds: s.retryAfterSeconds };
    return { kind: 'none' };
  }

  /** Whether the next webhook is lost (one draw per webhook). */
  nextWebhookDropped(): boolean {
    return this.webhookRng.next() < this.settings.dropWebhookRate;
  }

  private reseed(): void {
    this.requestRng = Prng.stream(this.settings.seed, REQUEST_STREAM);
    this.webhookRng = Prng.stream(this.settings.seed, WEBHOOK_STREAM);
  }
}
