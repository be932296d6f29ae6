/** Time source of the budget; inject a fake one in tests. */
export interface BudgetClock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

export const systemClock: BudgetClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface TokenRateBudgetOptions {
  clock?: BudgetClock;
  /** Bucket size (burst). Default: one minute's worth, `tokensPerMinute`. */
  capacity?: number;
}

/**
 * Token bucket of `tokensPerMinute`, refilled continuously, starting full. `acquire` waits (FIFO) until the
 * bucket holds the tokens, then takes them. A request larger than the bucket waits for a full bucket and then
 * takes it all, leaving a debt that later callers wait out, so it neither deadlocks nor overruns the rate.
 */
export class TokenRateBudget {
  readonly capacity: number;
  private readonly ratePerMs: number;
  private readonly clock: BudgetClock;
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly tokensPerMinute: number,
    opts: TokenRateBudgetOptions = {},
  ) {
    if (!(tokensPerMinute > 0) || !Number.isFinite(tokensPerMinute))
      throw new RangeError(`tokensPerMinute must be > 0 (got ${tokensPerMinute})`);
    this.capacity = opts.capacity ?? tokensPerMinute;
    if (!(this.capacity > 0)) throw new RangeError(`capacity must be > 0 (got ${this.capacity})`);
    this.ratePerMs = tokensPerMinute / 60_000;
    this.clock = opts.clock ?? systemClock;
    this.tokens = this.capacity;
    this.last = this.clock.now();
  }

  /** Tokens in the bucket now (negative while a debt is being paid off). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Waits until `tokens` may be spent, then spends them. Rejects with the signal's reason on abort. */
  acquire(tokens: number, signal?: AbortSignal): Promise<void> {
    if (!(tokens >= 0) || !Number.isFinite(tokens)) return Promise.reject(new RangeError(`invalid token count ${tokens}`));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const turn = this.tail.then(() => this.take(tokens, signal));
    this.tail = turn.catch(() => undefined);
    if (!signal) return turn;
    // Leave the queue at once on abort; the queued take() sees the aborted signal and spends nothing.
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      turn.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async take(tokens: number, signal?: AbortSignal): Promise<void> {
    const need = Math.min(tokens, this.capacity);
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      this.refill();
      if (this.tokens >= need) {
        this.tokens -= tokens;
        return;
      }
      await this.clock.sleep(Math.max(1, Math.ceil((need - this.tokens) / this.ratePerMs)), signal);
    }
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.ratePerMs);
      this.last = now;
    }
  }
}
