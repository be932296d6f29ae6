import { backoffDelayMs, decideFailure, RetryPolicy } from './retry-policy';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

describe('retry policy', () => {
  it('permanent failures dead-letter at once', () => {
    expect(decideFailure('permanent', 0, policy)).toEqual({ event: 'fail_permanent', reason: 'permanent' });
  });

  it('transient failures retry until the attempts run out', () => {
    expect(decideFailure('transient', 0, policy, { random: () => 1 })).toEqual({ event: 'fail_transient', delayMs: 100 });
    expect(decideFailure('transient', 2, policy, { random: () => 1 })).toEqual({ event: 'fail_transient', delayMs: 400 });
    expect(decideFailure('transient', 3, policy)).toEqual({ event: 'fail_permanent', reason: 'attempts_exhausted' });
  });

  it('backoff grows exponentially, caps, and jitters within the cap', () => {
    expect(backoffDelayMs(0, policy, () => 1)).toBe(100);
    expect(backoffDelayMs(3, policy, () => 1)).toBe(800);
    expect(backoffDelayMs(10, policy, () => 1)).toBe(1_000);
    expect(backoffDelayMs(10, policy, () => 0.5)).toBe(500);
    expect(backoffDelayMs(10, policy, () => 0)).toBe(0);
  });

  it('never waits less than retry-after', () => {
    expect(backoffDelayMs(0, policy, () => 0, 2_500)).toBe(2_500);
    expect(decideFailure('transient', 0, policy, { random: () => 0, retryAfterMs: 750 })).toEqual({ event: 'fail_transient', delayMs: 750 });
  });
});
