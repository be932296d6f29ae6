import {
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  IBreaker,
  IRetryBackoffContext,
  Policy,
  SamplingBreaker,
  TimeoutPolicy,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  IsolatedCircuitError,
  retry,
  timeout,
} from 'cockatiel';
import {
  BreakerKind,
  BreakerStateChange,
  BreakerStateListener,
  BreakerStateName,
  BreakerStatus,
  DEFAULT_SERVICE_POLICY_OPTIONS,
  ResolvedServicePolicyOptions,
  ServicePolicyOptions,
} from './circuit-breaker.config';
import { BreakerOpenError, classifyError, PermanentError, TransientError } from '@app/errors';

export interface ExecuteOptions {
  /** Caller's signal (e.g. shutdown): aborts the attempt in flight and stops further retries. */
  signal?: AbortSignal;
  /** Per-attempt timeout for this call, overriding the service's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * What this call is about (a job id, a document id). The breaker counts the service's faults, not one input's:
   * transient failures carrying a key already counted in the breaker's window (since the last success for the
   * consecutive breaker, within `durationMs` for the sampling one) are not counted again, so one poison document
   * retried over and over cannot open the breaker for everyone. Without a key every transient failure counts.
   * While half-open every failure counts: the trial decides.
   */
  inputKey?: string;
}

/** Most keys remembered by one breaker; the oldest is forgotten first (a bound, not a tuning knob). */
const MAX_COUNTED_KEYS = 1024;

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

/** Errors caused by the caller's own abort: never counted by the breaker, never retried. */
const callerAborts = new WeakSet<Error>();

/** Transient failures of an input already counted in the breaker's window: retried, but not counted again. */
const repeatedInputs = new WeakSet<Error>();

function makeBreaker(b: BreakerKind): IBreaker {
  if (b.kind === 'sampling')
    return new SamplingBreaker({ threshold: b.threshold, duration: b.durationMs, minimumRps: b.minimumRps });
  return new ConsecutiveBreaker(b.threshold);
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function resolveServicePolicyOptions(...layers: (ServicePolicyOptions | undefined)[]): ResolvedServicePolicyOptions {
  const merged: ResolvedServicePolicyOptions = { ...DEFAULT_SERVICE_POLICY_OPTIONS };
  for (const layer of layers)
    for (const [k, v] of Object.entries(layer ?? {})) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  const positive = (n: number, what: string) => {
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${what} must be a finite number >= 0 (got ${n})`);
  };
  positive(merged.timeoutMs, 'timeoutMs');
  positive(merged.initialDelayMs, 'initialDelayMs');
  positive(merged.maxDelayMs, 'maxDelayMs');
  positive(merged.maxRetryAfterMs, 'maxRetryAfterMs');
  positive(merged.halfOpenAfterMs, 'halfOpenAfterMs');
  if (!Number.isInteger(merged.maxAttempts) || merged.maxAttempts < 1)
    throw new RangeError(`maxAttempts must be an integer >= 1 (got ${merged.maxAttempts})`);
  const b = merged.breaker;
  if (b.kind === 'consecutive' && !(Number.isInteger(b.threshold) && b.threshold >= 1))
    throw new RangeError(`consecutive breaker threshold must be an integer >= 1 (got ${b.threshold})`);
  if (b.kind === 'sampling' && !(b.threshold > 0 && b.threshold < 1 && b.durationMs > 0))
    throw new RangeError(`sampling breaker needs 0 < threshold < 1 and durationMs > 0`);
  return merged;
}

/** The abort reason of an attempt's signal once the attempt has failed (one instance: no stack captured per abort). */
const ATTEMPT_FAILED = Object.freeze(new Error('the attempt failed; whatever it left running is cancelled'));

/** cockatiel's per-attempt timeout; the attempt's own signal is aborted in `attempt`, not on every return. */
const attemptTimeout = (ms: number): TimeoutPolicy => timeout(ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });

/**
 * One outside service's resilience policy, built from cockatiel:
 * retry (outermost; exponential backoff with jitter, only TransientError, at least `retryAfterMs`)
 *   -> circuit breaker (counts only transient failures; fails fast with BreakerOpenError while open)
 *     -> timeout (per attempt, aborts the attempt's signal).
 * `execute` rejects only with TransientError (incl. BreakerOpenError) or PermanentError.
 */
export class ServicePolicy {
  readonly options: Readonly<ResolvedServicePolicyOptions>;
  private readonly breakerPolicy: CircuitBreakerPolicy;
  private readonly timeoutPolicy: TimeoutPolicy;
  private readonly retryFilter: Policy;
  private readonly listeners = new Set<BreakerStateListener>();
  private state: BreakerStateName = 'closed';
  private failures = 0;
  private lastOpenedAt?: Date;
  private lastError?: string;
  /** Input keys whose failure the breaker has counted in its window, with when (insertion order = age). */
  private readonly countedKeys = new Map<string, number>();

  constructor(
    readonly name: string,
    options: ServicePolicyOptions = {},
  ) {
    this.options = Object.freeze(resolveServicePolicyOptions(options));
    const o = this.options;
    this.timeoutPolicy = attemptTimeout(o.timeoutMs);
    this.breakerPolicy = circuitBreaker(
      // Only transient failures count: a PermanentError (4xx other than 429, a bad input) is thrown through the breaker
      // unhandled, which cockatiel records as neither a failure nor a success. Nor does a repeat of an input's failure.
      handleWhen(
        (e) => e instanceof TransientError && !(e instanceof BreakerOpenError) && !callerAborts.has(e) && !repeatedInputs.has(e),
      ),
      { breaker: makeBreaker(o.breaker), halfOpenAfter: o.halfOpenAfterMs },
    );
    this.retryFilter = handleWhen(
      (e) =>
        e instanceof TransientError &&
        !(e instanceof BreakerOpenError) &&
        !callerAborts.has(e) &&
        (e.retryAfterMs === undefined || e.retryAfterMs <= o.maxRetryAfterMs),
    );
    this.breakerPolicy.onStateChange((s) => this.transition(STATE_NAMES[s]));
  }

  /** Delay before retry number `ctx.attempt` (1-based): equal-jitter exponential, never below retry-after. */
  private backoffDelay(ctx: IRetryBackoffContext<unknown>): number {
    const o = this.options;
    const exp = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.max(0, ctx.attempt - 1));
    const jittered = exp / 2 + o.random() * (exp / 2);
    const err = 'error' in ctx.result ? ctx.result.error : undefined;
    const retryAfter = err instanceof TransientError ? (err.retryAfterMs ?? 0) : 0;
    return Math.round(Math.max(jittered, retryAfter));
  }

  /**
   * Runs `fn` under timeout + breaker + retry. `fn` gets the attempt's AbortSignal, aborted on timeout, on the
   * caller's abort, and when the attempt fails (so whatever it left running, such as a response body it did not
   * read, is cancelled); pass it to fetch/SDK calls. A successful `fn` must have finished what it started: its
   * signal is not aborted after a success.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, opts: ExecuteOptions = {}): Promise<T> {
    const { signal } = opts;
    if (signal?.aborted) throw this.callerAborted(signal);
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const timeoutPolicy = timeoutMs === this.options.timeoutMs ? this.timeoutPolicy : attemptTimeout(timeoutMs);
    // cockatiel's retry computes the backoff; the wait itself happens here so the caller's abort cuts it short.
    let delay = 0;
    const retryPolicy = retry(this.retryFilter, {
      maxAttempts: this.options.maxAttempts - 1,
      backoff: new DelegateBackoff((ctx: IRetryBackoffContext<unknown>) => {
        delay = this.backoffDelay(ctx);
        return 0;
      }),
    });
    try {
      return await retryPolicy.execute(async ({ signal: attemptSignal }) => {
        if (delay > 0) {
          await sleep(delay, signal);
          delay = 0;
          if (signal?.aborted) throw this.callerAborted(signal);
        }
        return this.attempt(fn, timeoutPolicy, timeoutMs, attemptSignal, signal, opts.inputKey);
      }, signal);
    } catch (e) {
      if (e instanceof Error && callerAborts.has(e)) throw e;
      if (signal?.aborted && !(e instanceof PermanentError)) throw this.callerAborted(signal, e);
      throw classifyError(e, this.name);
    }
  }

  private async attempt<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    timeoutPolicy: TimeoutPolicy,
    timeoutMs: number,
    parentSignal: AbortSignal,
    callerSignal: AbortSignal | undefined,
    inputKey: string | undefined,
  ): Promise<T> {
    try {
      // The attempt follows parentSignal itself, not the breaker's context signal: a call that waited for a half-open
      // breaker's probe is run by cockatiel 3.2.1 without its signal (CircuitBreakerPolicy.execute, `this.execute(fn)`),
      // so the caller's abort (shutdown, a lost lease) would not reach it and it would run to its timeout.
      const value = await this.breakerPolicy.execute(async () => {
        let timedOut = false;
        try {
          return await timeoutPolicy.execute(async (_ctx, s) => {
            // The attempt's own signal, following cockatiel's (timeout, caller's abort) and aborted here when fn
            // fails. Not after a success: an abort dispatches to every listener the call left on the signal (the
            // OpenAI SDK forwards it to its own controller and to undici's finished fetch), about 2 % of the
            // worker's CPU when cockatiel did it after every call (performance.md, round 10).
            // `forward` is removed as soon as fn settles, so it only ever sees an abort while fn runs.
            const attempt = new AbortController();
            const forward = () => {
              timedOut = true;
              attempt.abort(s.reason);
            };
            if (s.aborted) attempt.abort(s.reason);
            else s.addEventListener('abort', forward, { once: true });
            try {
              return await fn(attempt.signal);
            } catch (e) {
              attempt.abort(ATTEMPT_FAILED);
              throw e;
            } finally {
              s.removeEventListener('abort', forward);
            }
          }, parentSignal);
        } catch (e) {
          if (callerSignal?.aborted) throw this.callerAborted(callerSignal, e);
          if (e instanceof PermanentError) throw e;
          const err = timedOut
            ? new TransientError(`${this.name} timed out after ${timeoutMs}ms`, { code: 'timeout', service: this.name, cause: e })
            : classifyError(e, this.name);
          if (err instanceof TransientError) this.recordFailure(err, inputKey);
          throw err;
        }
      }, parentSignal);
      this.failures = 0;
      if (this.options.breaker.kind === 'consecutive') this.countedKeys.clear();
      return value;
    } catch (e) {
      if (isBrokenCircuitError(e)) throw this.openError(e);
      throw e;
    }
  }

  private openError(cause: Error): BreakerOpenError {
    const remaining = this.lastOpenedAt
      ? Math.max(0, this.lastOpenedAt.getTime() + this.options.halfOpenAfterMs - Date.now())
      : this.options.halfOpenAfterMs;
    const isolated = cause instanceof IsolatedCircuitError;
    return new BreakerOpenError(this.name, { cause, isolated, retryAfterMs: isolated ? undefined : remaining });
  }

  private callerAborted(signal: AbortSignal, cause?: unknown): TransientError {
    const err = new TransientError(`${this.name} call aborted by caller`, {
      code: 'aborted',
      service: this.name,
      cause: cause ?? signal.reason,
    });
    callerAborts.add(err);
    return err;
  }

  /**
   * Notes a transient failure; decides whether the breaker counts it. A failure whose input key was already counted
   * in the window is marked (`repeatedInputs`) so the breaker's filter lets it through uncounted. Half-open, the
   * trial's failure always counts (an uncounted one would make cockatiel close the breaker).
   */
  private recordFailure(err: TransientError, inputKey: string | undefined): void {
    this.lastError = err.message;
    if (inputKey !== undefined && this.breakerPolicy.state === CircuitState.Closed) {
      const now = Date.now();
      const b = this.options.breaker;
      const countedAt = this.countedKeys.get(inputKey);
      if (countedAt !== undefined && (b.kind === 'consecutive' || now - countedAt < b.durationMs)) {
        repeatedInputs.add(err);
        return;
      }
      this.countedKeys.delete(inputKey);
      this.countedKeys.set(inputKey, now);
      if (this.countedKeys.size > MAX_COUNTED_KEYS) this.countedKeys.delete(this.countedKeys.keys().next().value as string);
    }
    this.failures++;
  }

  private transition(next: BreakerStateName): void {
    const previous = this.state;
    if (next === previous) return;
    this.state = next;
    const at = new Date();
    if (next === 'open' || next === 'isolated') this.lastOpenedAt = at;
    if (next === 'closed') {
      this.failures = 0;
      this.countedKeys.clear();
    }
    const change: BreakerStateChange = { name: this.name, state: next, previous, at };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // a listener's failure must not break the call path
      }
    }
  }

  /** Subscribes to breaker state changes; returns the unsubscribe function. */
  onStateChange(listener: BreakerStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Holds the breaker open (state `isolated`) until the returned handle is disposed. */
  isolate(): { dispose(): void } {
    return this.breakerPolicy.isolate();
  }

  status(): BreakerStatus {
    const s: BreakerStatus = { name: this.name, state: STATE_NAMES[this.breakerPolicy.state], failures: this.failures };
    if (this.lastOpenedAt) s.lastOpenedAt = this.lastOpenedAt;
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }
}
