import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../app.config';
import {
  gatewayTimeout,
  insufficientQuota,
  invalidRequest,
  overloaded,
  rateLimitExceeded,
  retryAfterHeaders,
  serverError,
  withHeaders,
} from '../common/openai-error';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { MockSettings } from './mock-config.dto';
import { mulberry32, sleep } from './prng';

export type Fault = 'none' | 'error_500' | 'error_503' | 'rate_limit' | 'timeout';

/** Header naming the injected fault on injected responses, so tests can tell them from real ones. */
export const FAULT_HEADER = 'x-mock-fault';

type FaultSettings = Omit<MockSettings, 'tpm' | 'rpm'>;

function fromConfig(c: AppConfig): MockSettings {
  return {
    latencyMs: c.MOCK_OPENAI_LATENCY_MS,
    errorRate: c.MOCK_OPENAI_ERROR_RATE,
    rateLimitRate: c.MOCK_OPENAI_RATE_LIMIT_RATE,
    timeoutRate: c.MOCK_OPENAI_TIMEOUT_RATE,
    timeoutMs: c.MOCK_OPENAI_TIMEOUT_MS,
    retryAfterMs: c.MOCK_OPENAI_RETRY_AFTER_MS,
    seed: c.MOCK_SEED,
    quotaExhausted: c.MOCK_OPENAI_QUOTA_EXHAUSTED,
    tpm: c.MOCK_OPENAI_TPM,
    rpm: c.MOCK_OPENAI_RPM,
  };
}

/**
 * Latency and failure injection. Each embeddings request takes two draws from a PRNG seeded with
 * `seed`: the first picks the fault by bands [timeout | error | rate limit | none], the second picks
 * 500 or 503 for an error. The same seed and the same request sequence give the same faults.
 */
@Injectable()
export class FaultsService implements OnModuleDestroy {
  private readonly boot: MockSettings;
  private settings: FaultSettings;
  private random: () => number;
  private readonly shutdown = new AbortController();

  constructor(
    config: AppConfig,
    private readonly rateLimit: RateLimitService,
  ) {
    this.boot = fromConfig(config);
    this.apply(this.boot);
  }

  current(): MockSettings {
    return { ...this.settings, ...this.rateLimit.current() };
  }

  /** Merges `patch` into the settings; throws 400 when the three rates would sum past 1. */
  update(patch: Partial<MockSettings>): MockSettings {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<MockSettings>;
    const next = { ...this.current(), ...defined };
    if (next.errorRate + next.rateLimitRate + next.timeoutRate > 1 + 1e-9) {
      throw invalidRequest('errorRate + rateLimitRate + timeoutRate must be <= 1', null, 'invalid_value');
    }
    const { tpm, rpm, ...faults } = next;
    this.settings = faults;
    if (defined.seed !== undefined) this.random = mulberry32(defined.seed);
    if (defined.tpm !== undefined || defined.rpm !== undefined) this.rateLimit.configure({ tpm, rpm });
    return this.current();
  }

  /** Back to the values the app started with (environment), PRNG and budgets restarted. */
  reset(): MockSettings {
    this.apply(this.boot);
    return this.current();
  }

  private apply(s: MockSettings): void {
    const { tpm, rpm, ...faults } = s;
    this.settings = faults;
    this.random = mulberry32(s.seed);
    this.rateLimit.configure({ tpm, rpm });
  }

  /** Decides the fault for one request (always two draws, so the sequence is stable). */
  draw(): Fault {
    const u = this.random();
    const pick = this.random();
    const { timeoutRate, errorRate, rateLimitRate } = this.settings;
    if (u < timeoutRate) return 'timeout';
    if (u < timeoutRate + errorRate) return pick < 0.5 ? 'error_500' : 'error_503';
    if (u < timeoutRate + errorRate + rateLimitRate) return 'rate_limit';
    return 'none';
  }

  /** The configured fixed latency (cut short on shutdown or when `signal` aborts). */
  async addLatency(signal?: AbortSignal): Promise<void> {
    await sleep(this.settings.latencyMs, this.shutdown.signal, ...(signal ? [signal] : []));
  }

  /**
   * Runs before an embeddings request is processed: latency, then the quota switch (429
   * insufficient_quota), then the drawn fault (thrown as an OpenAI error).
   */
  async beforeEmbeddings(signal?: AbortSignal): Promise<void> {
    await this.addLatency(signal);
    const fault = this.draw();
    if (this.settings.quotaExhausted) throw insufficientQuota();
    const header = { [FAULT_HEADER]: fault };
    switch (fault) {
      case 'timeout':
        await sleep(this.settings.timeoutMs, this.shutdown.signal, ...(signal ? [signal] : []));
        throw withHeaders(gatewayTimeout('injected_timeout'), header);
      case 'error_500':
        throw withHeaders(serverError('injected_error'), header);
      case 'error_503':
        throw withHeaders(overloaded('injected_error'), header);
      case 'rate_limit':
        throw rateLimitExceeded(
          'Rate limit reached for requests (injected by mock-openai). Please try again later.',
          'requests',
          { ...header, ...retryAfterHeaders(this.settings.retryAfterMs) },
          'injected_rate_limit',
        );
      case 'none':
        break;
    }
  }

  /** Releases hanging requests so shutdown is not held up by injected timeouts. */
  onModuleDestroy(): void {
    this.shutdown.abort();
  }
}
