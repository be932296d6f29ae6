/** Which cockatiel breaker decides when to open. Only transient failures count as failures. */
export type BreakerKind =
  | { kind: 'consecutive'; /** open after this many transient failures in a row */ threshold: number }
  | {
      kind: 'sampling';
      /** fraction, strictly between 0 and 1, of calls in the window that must fail transiently */
      threshold: number;
      /** sampling window, ms */
      durationMs: number;
      /** calls per second the window must see before it may open (cockatiel default: 5 failures/s worth) */
      minimumRps?: number;
    };

/** Options of one service's policy; every field has a default (see DEFAULT_SERVICE_POLICY_OPTIONS). */
export interface ServicePolicyOptions {
  /** Per-attempt timeout; the attempt's AbortSignal is aborted when it passes. */
  timeoutMs?: number;
  /** Total attempts per execute(), the first one included (1 = no retry). */
  maxAttempts?: number;
  /** First backoff delay before jitter. */
  initialDelayMs?: number;
  /** Cap of the exponential backoff. */
  maxDelayMs?: number;
  /**
   * A transient error whose `retryAfterMs` is above this is not retried in-process: it is thrown at once
   * (still transient, `retryAfterMs` kept) so the job goes `retryable` with `next_attempt_at` instead.
   */
  maxRetryAfterMs?: number;
  breaker?: BreakerKind;
  /** How long the breaker stays open before one trial call (half-open). */
  halfOpenAfterMs?: number;
  /** Random source for jitter, [0,1). For tests. */
  random?: () => number;
}

export type ResolvedServicePolicyOptions = Required<ServicePolicyOptions>;

export const DEFAULT_SERVICE_POLICY_OPTIONS: Readonly<ResolvedServicePolicyOptions> = Object.freeze<ResolvedServicePolicyOptions>({
  timeoutMs: 30_000,
  maxAttempts: 3,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 10_000,
  breaker: { kind: 'consecutive', threshold: 5 },
  halfOpenAfterMs: 10_000,
  random: Math.random,
});

/** Options of CircuitBreakerModule.forRoot / new BreakerRegistry(...). */
export interface CircuitBreakerModuleOptions {
  /** Per service name (`parser`, `embedder`, `storage`, ...); merged over `defaults`. */
  services?: Record<string, ServicePolicyOptions>;
  /** Applied to every service (also ones first asked for via `get(name)` without an entry). */
  defaults?: ServicePolicyOptions;
}

export const CIRCUIT_BREAKER_OPTIONS = Symbol('CIRCUIT_BREAKER_OPTIONS');

export type BreakerStateName = 'closed' | 'open' | 'half_open' | 'isolated';

export interface BreakerStatus {
  name: string;
  state: BreakerStateName;
  /** Transient failures since the last success (what the breaker has counted). */
  failures: number;
  lastOpenedAt?: Date;
  /** Message of the last transient failure, if any. */
  lastError?: string;
}

export interface BreakerStateChange {
  name: string;
  state: BreakerStateName;
  previous: BreakerStateName;
  at: Date;
}

export type BreakerStateListener = (change: BreakerStateChange) => void;
