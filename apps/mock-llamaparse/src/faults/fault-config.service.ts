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
  /** Fraction of uploads answered 402 (out of credits). */
  fail402Rate: number;
  /** Fraction of uploads answered 429 without `retry-after` (the upload rate limit). */
  upload429Rate: number;
  /** Fraction of successful v1 jobs reported PARTIAL_SUCCESS. */
  partialSuccessRate: number;
  /** PRNG seed; setting it (even to the same value) restarts the fault sequences. */
  seed: number;
}

export type RequestFault =
  | { kind: 'none' }
  | { kind: 'timeout'; ms: number }
  | { kind: 'error'; status: 500 | 503 }
  | { kind: 'rateLimit'; retryAfterSeconds: number };

export type UploadFault = { kind: 'none' } | { kind: 'quota' } | { kind: 'uploadRateLimit' };

const REQUEST_STREAM = 1;
const WEBHOOK_STREAM = 2;
const UPLOAD_STREAM = 3;
const PARTIAL_STREAM = 4;

@Injectable()
export class FaultConfigService {
  private settings: FaultSettings;
  private requestRng!: Prng;
  private webhookRng!: Prng;
  private uploadRng!: Prng;
  private partialRng!: Prng;

  constructor(@Inject(APP_CONFIG) config: MockLlamaParseConfig) {
    this.settings = {
      latencyMs: config.MOCK_LLAMAPARSE_LATENCY_MS,
      errorRate: config.MOCK_LLAMAPARSE_ERROR_RATE,
      rateLimitRate: config.MOCK_LLAMAPARSE_RATE_LIMIT_RATE,
      retryAfterSeconds: config.MOCK_LLAMAPARSE_RETRY_AFTER_S,
      timeoutRate: config.MOCK_LLAMAPARSE_TIMEOUT_RATE,
      timeoutMs: config.MOCK_LLAMAPARSE_TIMEOUT_MS,
      dropWebhookRate: config.MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE,
      fail402Rate: config.MOCK_LLAMAPARSE_FAIL_402_RATE,
      upload429Rate: config.MOCK_LLAMAPARSE_UPLOAD_429_RATE,
      partialSuccessRate: config.MOCK_LLAMAPARSE_PARTIAL_SUCCESS_RATE,
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

  /**
   * The upload fault of one upload that passed {@link nextRequestFault} (its own stream: the request faults'
   * sequences stay as they were). Always draws two numbers; 402 before 429.
   */
  nextUploadFault(): UploadFault {
    const [quota, limit] = [0, 0].map(() => this.uploadRng.next());
    if (quota < this.settings.fail402Rate) return { kind: 'quota' };
    if (limit < this.settings.upload429Rate) return { kind: 'uploadRateLimit' };
    return { kind: 'none' };
  }

  /** Whether a v1 job that succeeded reports PARTIAL_SUCCESS (one draw per successful job). */
  nextPartialSuccess(): boolean {
    return this.partialRng.next() < this.settings.partialSuccessRate;
  }

  /** Whether the next webhook is lost (one draw per webhook). */
  nextWebhookDropped(): boolean {
    return this.webhookRng.next() < this.settings.dropWebhookRate;
  }

  private reseed(): void {
    this.requestRng = Prng.stream(this.settings.seed, REQUEST_STREAM);
    this.webhookRng = Prng.stream(this.settings.seed, WEBHOOK_STREAM);
    this.uploadRng = Prng.stream(this.settings.seed, UPLOAD_STREAM);
    this.partialRng = Prng.stream(this.settings.seed, PARTIAL_STREAM);
  }
}
