import { TimeoutError, withTimeout } from './with-timeout';

describe('withTimeout', () => {
  it('passes a result or rejection through', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });

  it('rejects with a TimeoutError naming what timed out', async () => {
    const never = new Promise<number>(() => undefined);
    const err = await withTimeout(never, 20, 'database ping').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toBe('database ping timed out after 20 ms');
  });

  it('ignores a late rejection (no unhandled rejection) and leaves no timer behind', async () => {
    let rejectLate!: (e: Error) => void;
    const late = new Promise<number>((_, reject) => (rejectLate = reject));
    await expect(withTimeout(late, 10, 'late')).rejects.toBeInstanceOf(TimeoutError);
    rejectLate(new Error('too late'));
    await new Promise((r) => setImmediate(r));
    jest.useFakeTimers();
    try {
      await withTimeout(Promise.resolve(1), 60_000, 'fast');
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
