/** How transient failures are retried before a job is dead-lettered. */
export interface RetryPolicy {
  /** Attempts in all, the first included. After this many failures the job is dead-lettered. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 5 * 60_000 };

export type FailureDecision =
  | { readonly event: 'fail_transient'; readonly delayMs: number }
  | { readonly event: 'fail_permanent'; readonly reason: 'permanent' | 'attempts_exhausted' };

/**
 * Exponential backoff with "full jitter" (AWS architecture blog): a uniform delay in
 * [0, min(max, base * 2^retries)], but never shorter than the upstream's retry-after.
 */
export function backoffDelayMs(
  retriesSoFar: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
  retryAfterMs = 0,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retriesSoFar));
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(Math.round(retryAfterMs), Math.round(cap * r));
}

/**
 * What to do with a failure. `retriesSoFar` is the job's retry_count before this failure (so the
 * attempt that just failed is attempt number retriesSoFar + 1).
 */
export function decideFailure(
  kind: 'transient' | 'permanent',
  retriesSoFar: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  opts: { retryAfterMs?: number; random?: () => number } = {},
): FailureDecision {
  if (kind === 'permanent') return { event: 'fail_permanent', reason: 'permanent' };
  if (retriesSoFar + 1 >= policy.maxAttempts) return { event: 'fail_permanent', reason: 'attempts_exhausted' };
  return { event: 'fail_transient', delayMs: backoffDelayMs(retriesSoFar, policy, opts.random, opts.retryAfterMs) };
}
