import { BudgetClock, TokenRateBudget, systemClock } from './token-rate-budget';

/** Manual clock: time moves only on advance(); sleepers wake when their time comes. */
class FakeClock implements BudgetClock {
  t = 1_000_000;
  private sleepers: { until: number; resolve: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = { until: this.t + ms, resolve };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        reject(signal.reason);
      });
    });
  }
  get pending(): number {
    return this.sleepers.length;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.sleepers.filter((s) => s.until <= end).sort((a, b) => a.until - b.until)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.until);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.resolve();
    }
    this.t = end;
    await flush();
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/** Tracks whether a promise has settled yet. */
function track(p: Promise<void>) {
  const s = { done: false, error: undefined as unknown };
  p.then(
    () => (s.done = true),
    (e: unknown) => {
      s.done = true;
      s.error = e;
    },
  );
  return s;
}

describe('TokenRateBudget', () => {
  it('lets a full bucket through at once, then paces by the refill rate', async () => {
    const clock = new FakeClock();
    const b = new TokenRateBudget(600, { clock }); // 10 tokens/s
    await b.acquire(600);
    expect(b.available()).toBe(0);
    const next = track(b.acquire(50));
    await clock.advance(4_900);
    expect(next.done).toBe(false);
    await clock.advance(100);
    expect(next.done).toBe(true);
    expect(next.error).toBeUndefined();
  });

  it('serves waiters in FIFO order: a small request does not overtake a big one', async () => {
    const clock = new FakeClock();
    const b = new TokenRateBudget(60, { clock }); // 1 token/s
    await b.acquire(60);
    const order: string[] = [];
    const big = b.acquire(30).then(() => order.push('big'));
    const small = b.acquire(1).then(() => order.push('small'));
    await clock.advance(31_000);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  it('a request larger than the bucket waits for a full bucket, then leaves a debt', async () => {
    const clock = new FakeClock();
    const b = new TokenRateBudget(100, { clock });
    await b.acquire(40);
    const huge = track(b.acquire(250));
    await clock.advance(20_000); // 60 + 33.3
    expect(huge.done).toBe(false);
    await clock.advance(4_000); // full at 24 s
    expect(huge.done).toBe(true);
    expect(b.available()).toBeCloseTo(-150, 5);
    const after = track(b.acquire(10));
    await clock.advance(95_000);
    expect(after.done).toBe(false);
    await clock.advance(1_000);
    expect(after.done).toBe(true);
  });

  it('an aborted waiter rejects at once, spends nothing and does not block the queue', async () => {
    const clock = new FakeClock();
    const b = new TokenRateBudget(60, { clock });
    await b.acquire(60);
    const ac = new AbortController();
    const first = track(b.acquire(30, ac.signal));
    const second = track(b.acquire(10));
    await flush();
    ac.abort(new Error('shutting down'));
    await flush();
    expect(first.done).toBe(true);
    expect((first.error as Error).message).toBe('shutting down');
    await clock.advance(10_000);
    expect(second.done).toBe(true);
    expect(clock.pending).toBe(0);
    await expect(b.acquire(1, ac.signal)).rejects.toThrow('shutting down');
  });

  it('validates its inputs', async () => {
    expect(() => new TokenRateBudget(0)).toThrow(RangeError);
    await expect(new TokenRateBudget(10).acquire(-1)).rejects.toThrow(RangeError);
  });

  it('the system clock sleeps and aborts', async () => {
    await expect(systemClock.sleep(1)).resolves.toBeUndefined();
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
