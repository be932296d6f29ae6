const MINUTE_MS = 60_000;

/**
 * A per-minute budget that refills continuously (capacity/minute), as OpenAI's limits do:
 * spending the whole budget at once is allowed, then it comes back gradually.
 */
export class TokenBucket {
  private level: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    now: number,
  ) {
    this.level = capacity;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.capacity, this.level + ((now - this.updatedAt) * this.capacity) / MINUTE_MS);
      this.updatedAt = now;
    }
  }

  remaining(now: number): number {
    this.refill(now);
    return Math.floor(this.level);
  }

  /** Milliseconds until `amount` is available (0 when it already is; Infinity when it never fits). */
  msUntilAvailable(amount: number, now: number): number {
    this.refill(now);
    if (amount > this.capacity) return Number.POSITIVE_INFINITY;
    if (this.level >= amount) return 0;
    return Math.ceil(((amount - this.level) * MINUTE_MS) / this.capacity);
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(now: number): number {
    this.refill(now);
    return Math.ceil(((this.capacity - this.level) * MINUTE_MS) / this.capacity);
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }
}

/** Go-style durations as in OpenAI's x-ratelimit-reset-* headers: "0s", "20ms", "1s", "6m0s", "1.5s". */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s'; // Go prints a zero duration as "0s", not "0ms"
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const sec = `${Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${sec}`;
  if (minutes > 0) return `${minutes}m${sec}`;
  return sec;
}
