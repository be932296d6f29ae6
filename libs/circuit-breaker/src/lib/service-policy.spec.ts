import { BreakerStateChange } from './circuit-breaker.config';
import { BreakerOpenError, PermanentError, TransientError } from '@app/errors';
import { ServicePolicy } from './service-policy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake upstream: plays the scripted outcomes in order, then succeeds with 'ok'. */
function scripted(...outcomes: (Error | string)[]) {
  const calls: AbortSignal[] = [];
  const fn = async (signal: AbortSignal): Promise<string> => {
    calls.push(signal);
    const next = outcomes.shift() ?? 'ok';
    if (next instanceof Error) throw next;
    return next;
  };
  return { fn, calls };
}

const transient = (msg = 'upstream 503') => new TransientError(msg, { code: 'http_503' });
const permanent = () => new PermanentError('bad request', { code: 'http_400' });

/** Fast settings: no jitter surprises, tiny delays. */
const fast = { initialDelayMs: 1, maxDelayMs: 2, random: () => 0, timeoutMs: 1_000 };

describe('ServicePolicy', () => {
  it('passes the value through and hands fn a live signal', async () => {
    const p = new ServicePolicy('parser', fast);
    const { fn, calls } = scripted('value');
    await expect(p.execute(fn)).resolves.toBe('value');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeInstanceOf(AbortSignal);
  });

  it("aborts a failed attempt's signal (cancelling what it left running), not a successful one's", async () => {
    const p = new ServicePolicy('parser', { ...fast, maxAttempts: 3 });
    const s = scripted(transient(), permanent());
    const aborts: string[] = [];
    const fn = (signal: AbortSignal) => {
      const n = s.calls.length + 1;
      // what a call leaves on its signal (an SDK's forwarding listener, a body stream): told only when its attempt failed
      signal.addEventListener('abort', () => aborts.push(`attempt ${n}`));
      return s.fn(signal);
    };
    await expect(p.execute(fn)).rejects.toBeInstanceOf(PermanentError);
    const ok = scripted(transient());
    const value = await p.execute((signal) => {
      signal.addEventListener('abort', () => aborts.push(`ok attempt ${ok.calls.length}`));
      return ok.fn(signal);
    });
    expect(value).toBe('ok');
    expect(aborts).toEqual(['attempt 1', 'attempt 2', 'ok attempt 1']);
    expect([...s.calls, ...ok.calls].map((c) => c.aborted)).toEqual([true, true, true, false]);
  });

  it('retries transient errors up to maxAttempts in total', async () => {
    const p = new ServicePolicy('parser', { ...fast, maxAttempts: 3 });
    const ok = scripted(transient(), transient());
    await expect(p.execute(ok.fn)).resolves.toBe('ok');
    expect(ok.calls).toHaveLength(3);

    const bad = scripted(transient('1'), transient('2'), transient('3'), transient('4'));
    const err = await p.execute(bad.fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe('3');
    expect(bad.calls).toHaveLength(3);
  });

  it('does not retry permanent errors and they never open the breaker', async () => {
    const p = new ServicePolicy('embedder', { ...fast, maxAttempts: 3, breaker: { kind: 'consecutive', threshold: 2 } });
    for (let i = 0; i < 5; i++) {
      const s = scripted(permanent());
      await expect(p.execute(s.fn)).rejects.toBeInstanceOf(PermanentError);
      expect(s.calls).toHaveLength(1);
    }
    expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('opens after N consecutive transient failures and then fails fast without calling', async () => {
    const changes: BreakerStateChange[] = [];
    const p = new ServicePolicy('parser', {
      ...fast,
      maxAttempts: 1,
      breaker: { kind: 'consecutive', threshold: 3 },
      halfOpenAfterMs: 60_000,
    });
    p.onStateChange((c) => changes.push(c));
    for (let i = 0; i < 3; i++) await expect(p.execute(scripted(transient()).fn)).rejects.toBeInstanceOf(TransientError);
    expect(p.status()).toMatchObject({ name: 'parser', state: 'open', failures: 3, lastError: 'upstream 503' });
    expect(p.status().lastOpenedAt).toBeInstanceOf(Date);

    const s = scripted('never');
    const err = await p.execute(s.fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as BreakerOpenError).code).toBe('breaker_open');
    expect((err as BreakerOpenError).service).toBe('parser');
    expect((err as BreakerOpenError).retryAfterMs).toBeGreaterThan(0);
    expect((err as BreakerOpenError).retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(s.calls).toHaveLength(0);
    expect(changes.map((c) => [c.previous, c.state])).toEqual([['closed', 'open']]);
  });

  it('a retry burst counts every attempt and stops retrying once the breaker opens', async () => {
    const p = new ServicePolicy('parser', { ...fast, maxAttempts: 5, breaker: { kind: 'consecutive', threshold: 2 } });
    const s = scripted(transient(), transient(), transient(), transient(), transient());
    await expect(p.execute(s.fn)).rejects.toBeInstanceOf(BreakerOpenError);
    expect(s.calls).toHaveLength(2);
    expect(p.status().state).toBe('open');
  });

  it('goes half-open after halfOpenAfterMs and closes on a successful trial call', async () => {
    const changes: string[] = [];
    const p = new ServicePolicy('embedder', {
      ...fast,
      maxAttempts: 1,
      breaker: { kind: 'consecutive', threshold: 2 },
      halfOpenAfterMs: 30,
    });
    p.onStateChange((c) => changes.push(c.state));
    for (let i = 0; i < 2; i++) await expect(p.execute(scripted(transient()).fn)).rejects.toThrow();
    expect(p.status().state).toBe('open');
    await expect(p.execute(scripted().fn)).rejects.toBeInstanceOf(BreakerOpenError);
    await sleep(50);
    const trial = scripted('recovered');
    await expect(p.execute(trial.fn)).resolves.toBe('recovered');
    expect(trial.calls).toHaveLength(1);
    expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it("a call that waited for the half-open trial still follows its caller's abort", async () => {
    const p = new ServicePolicy('parser', {
      ...fast,
      timeoutMs: 30_000,
      maxAttempts: 1,
      breaker: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 20,
    });
    await expect(p.execute(scripted(transient()).fn)).rejects.toThrow();
    await sleep(35);
    // the trial: held until released, so the next call arrives while the breaker is half-open
    let release!: (v: string) => void;
    const trial = p.execute(() => new Promise<string>((r) => (release = r)));
    expect(p.status().state).toBe('half_open');
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const waiting = p.execute(
      (signal) =>
        new Promise<string>((_resolve, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        }),
      { signal: caller.signal },
    );
    release('recovered');
    await expect(trial).resolves.toBe('recovered');
    while (!seen) await sleep(1); // cockatiel runs the waiting call once the trial has closed the breaker
    caller.abort();
    // told at once, not after its 30 s timeout
    expect(seen.aborted).toBe(true);
    await expect(waiting).rejects.toMatchObject({ kind: 'transient', code: 'aborted' });
  });

  it('re-opens when the half-open trial fails', async () => {
    const p = new ServicePolicy('embedder', {
      ...fast,
      maxAttempts: 1,
      breaker: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 20,
    });
    await expect(p.execute(scripted(transient()).fn)).rejects.toThrow();
    await sleep(35);
    await expect(p.execute(scripted(transient('still down')).fn)).rejects.toThrow('still down');
    expect(p.status().state).toBe('open');
  });

  it('waits at least retry-after before retrying', async () => {
    const p = new ServicePolicy('embedder', { ...fast, maxAttempts: 2 });
    const stamps: number[] = [];
    const fn = async () => {
      stamps.push(Date.now());
      if (stamps.length === 1) throw new TransientError('slow down', { code: 'rate_limited', retryAfterMs: 80 });
      return 'ok';
    };
    await expect(p.execute(fn)).resolves.toBe('ok');
    expect(stamps).toHaveLength(2);
    expect(stamps[1] - stamps[0]).toBeGreaterThanOrEqual(75);
  });

  it('does not wait in-process for a retry-after beyond maxRetryAfterMs', async () => {
    const p = new ServicePolicy('embedder', { ...fast, maxAttempts: 3, maxRetryAfterMs: 1_000 });
    const s = scripted(new TransientError('come back in a minute', { code: 'rate_limited', retryAfterMs: 60_000 }));
    const err = await p.execute(s.fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryAfterMs).toBe(60_000);
    expect(s.calls).toHaveLength(1);
  });

  it('aborts the attempt signal on timeout, classifies it transient and counts it', async () => {
    const p = new ServicePolicy('parser', { ...fast, timeoutMs: 30, maxAttempts: 1 });
    let seen: AbortSignal | undefined;
    const fn = (signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => {
        seen = signal;
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    const err = await p.execute(fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('timeout');
    expect(seen?.aborted).toBe(true);
    expect(p.status().failures).toBe(1);
  });

  it('times out even when fn ignores its signal, and honours a per-call timeout', async () => {
    const p = new ServicePolicy('parser', { ...fast, timeoutMs: 10_000, maxAttempts: 1 });
    const never = () => new Promise<string>(() => undefined);
    const err = await p.execute(never, { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'transient', code: 'timeout', service: 'parser' });
  });

  it("the caller's abort stops the call: not retried, not counted", async () => {
    const p = new ServicePolicy('parser', { ...fast, maxAttempts: 5, breaker: { kind: 'consecutive', threshold: 1 } });
    const ac = new AbortController();
    let calls = 0;
    const fn = (signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => {
        calls++;
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        setTimeout(() => ac.abort(), 5);
      });
    const err = await p.execute(fn, { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'transient', code: 'aborted' });
    expect(calls).toBe(1);
    expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
    await expect(p.execute(scripted().fn, { signal: ac.signal })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('classifies raw network errors thrown by fn', async () => {
    const p = new ServicePolicy('storage', { ...fast, maxAttempts: 2 });
    const s = scripted(new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' })}));
    await expect(p.execute(s.fn)).resolves.toBe('ok');
    expect(s.calls).toHaveLength(2);
    const s2 = scripted(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    await expect(new ServicePolicy('storage', { ...fast, maxAttempts: 1 }).execute(s2.fn)).rejects.toMatchObject({
      kind: 'transient',
      code: 'ECONNREFUSED',
      service: 'storage',
    });
  });

  it('supports a sampling breaker', async () => {
    const p = new ServicePolicy('embedder', {
      ...fast,
      maxAttempts: 1,
      breaker: { kind: 'sampling', threshold: 0.5, durationMs: 1_000, minimumRps: 5 },
    });
    await p.execute(scripted('fine').fn);
    for (let i = 0; i < 10 && p.status().state === 'closed'; i++)
      await p.execute(scripted(transient()).fn).catch(() => undefined);
    expect(p.status().state).toBe('open');
  });

  it('isolate() holds the breaker open until disposed', async () => {
    const p = new ServicePolicy('parser', fast);
    const handle = p.isolate();
    expect(p.status().state).toBe('isolated');
    await expect(p.execute(scripted().fn)).rejects.toBeInstanceOf(BreakerOpenError);
    handle.dispose();
    expect(p.status().state).toBe('closed');
    await expect(p.execute(scripted().fn)).resolves.toBe('ok');
  });

  describe('input keys: the breaker counts the service, not one input', () => {
    const keyed = { ...fast, maxAttempts: 1, breaker: { kind: 'consecutive' as const, threshold: 3 }, halfOpenAfterMs: 60_000 };

    it('N failures with one key do not open the breaker', async () => {
      const p = new ServicePolicy('embedder', keyed);
      for (let i = 0; i < 10; i++)
        await expect(p.execute(scripted(transient()).fn, { inputKey: 'doc-poison' })).rejects.toBeInstanceOf(TransientError);
      expect(p.status()).toMatchObject({ state: 'closed', failures: 1, lastError: 'upstream 503' });
      // the service still serves everyone else
      await expect(p.execute(scripted('fine').fn, { inputKey: 'doc-ok' })).resolves.toBe('fine');
    });

    it("one input's in-process retries count once", async () => {
      const p = new ServicePolicy('embedder', { ...keyed, maxAttempts: 5 });
      const s = scripted(transient(), transient(), transient(), transient(), transient());
      await expect(p.execute(s.fn, { inputKey: 'doc-poison' })).rejects.toBeInstanceOf(TransientError);
      expect(s.calls).toHaveLength(5); // still retried: the failure may be a blip
      expect(p.status()).toMatchObject({ state: 'closed', failures: 1 });
    });

    it('N failures with N keys open it, and so do failures without a key', async () => {
      const p = new ServicePolicy('embedder', keyed);
      for (let i = 0; i < 3; i++)
        await expect(p.execute(scripted(transient()).fn, { inputKey: `doc-${i}` })).rejects.toBeInstanceOf(TransientError);
      expect(p.status()).toMatchObject({ state: 'open', failures: 3 });

      const unkeyed = new ServicePolicy('embedder', keyed);
      for (let i = 0; i < 3; i++) await expect(unkeyed.execute(scripted(transient()).fn)).rejects.toBeInstanceOf(TransientError);
      expect(unkeyed.status().state).toBe('open');
    });

    it('a repeated key does not count, a new one does: the poison document plus two others open it', async () => {
      const p = new ServicePolicy('embedder', keyed);
      for (const key of ['a', 'a', 'a', 'b', 'b', 'a'])
        await expect(p.execute(scripted(transient()).fn, { inputKey: key })).rejects.toBeInstanceOf(TransientError);
      expect(p.status()).toMatchObject({ state: 'closed', failures: 2 });
      await expect(p.execute(scripted(transient()).fn, { inputKey: 'c' })).rejects.toBeInstanceOf(TransientError);
      expect(p.status().state).toBe('open');
    });

    it('a success resets the count and the keys counted', async () => {
      const p = new ServicePolicy('embedder', keyed);
      for (const key of ['a', 'b']) await expect(p.execute(scripted(transient()).fn, { inputKey: key })).rejects.toThrow();
      expect(p.status().failures).toBe(2);
      await expect(p.execute(scripted('ok').fn, { inputKey: 'c' })).resolves.toBe('ok');
      expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
      // 'a' fails again after the success: counted afresh, and it takes three inputs again to open
      for (const key of ['a', 'b']) await expect(p.execute(scripted(transient()).fn, { inputKey: key })).rejects.toThrow();
      expect(p.status()).toMatchObject({ state: 'closed', failures: 2 });
      await expect(p.execute(scripted(transient()).fn, { inputKey: 'a' })).rejects.toThrow();
      expect(p.status().state).toBe('closed');
      await expect(p.execute(scripted(transient()).fn, { inputKey: 'c' })).rejects.toThrow();
      expect(p.status().state).toBe('open');
    });

    it('permanent errors never count, keyed or not, and do not reset the count either', async () => {
      const p = new ServicePolicy('embedder', { ...keyed, breaker: { kind: 'consecutive', threshold: 2 } });
      const statuses = [400, 401, 403, 404, 409, 413, 422];
      for (const [i, status] of statuses.entries()) {
        const err = new PermanentError(`HTTP ${status}`, { code: `http_${status}`, status });
        await expect(p.execute(scripted(err).fn, i % 2 ? { inputKey: `doc-${i}` } : {})).rejects.toBeInstanceOf(PermanentError);
      }
      expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
      await expect(p.execute(scripted(transient()).fn, { inputKey: 'x' })).rejects.toThrow();
      await expect(p.execute(scripted(permanent()).fn, { inputKey: 'y' })).rejects.toBeInstanceOf(PermanentError);
      expect(p.status()).toMatchObject({ state: 'closed', failures: 1 });
      await expect(p.execute(scripted(transient()).fn, { inputKey: 'z' })).rejects.toThrow();
      expect(p.status().state).toBe('open');
    });

    it('half-open, the trial counts even with a key counted before: it re-opens', async () => {
      const p = new ServicePolicy('embedder', { ...keyed, breaker: { kind: 'consecutive', threshold: 2 }, halfOpenAfterMs: 20 });
      for (const key of ['a', 'b']) await expect(p.execute(scripted(transient()).fn, { inputKey: key })).rejects.toThrow();
      expect(p.status().state).toBe('open');
      await sleep(35);
      await expect(p.execute(scripted(transient('still down')).fn, { inputKey: 'a' })).rejects.toThrow('still down');
      expect(p.status().state).toBe('open');
    });

    it('a sampling breaker counts a key once within its window', async () => {
      const p = new ServicePolicy('embedder', {
        ...fast,
        maxAttempts: 1,
        breaker: { kind: 'sampling', threshold: 0.5, durationMs: 1_000, minimumRps: 5 },
      });
      await p.execute(scripted('fine').fn);
      for (let i = 0; i < 20; i++) await p.execute(scripted(transient()).fn, { inputKey: 'doc-poison' }).catch(() => undefined);
      expect(p.status()).toMatchObject({ state: 'closed', failures: 1 });
      for (let i = 0; i < 20 && p.status().state === 'closed'; i++)
        await p.execute(scripted(transient()).fn, { inputKey: `doc-${i}` }).catch(() => undefined);
      expect(p.status().state).toBe('open');
    });
  });

  describe('a service that stalls recovers without a restart', () => {
    /** Never settles and ignores its signal: a hung upstream. */
    const hang = () => new Promise<string>(() => undefined);

    it('a call that stalls on one document times out; repeating it does not open the breaker', async () => {
      const p = new ServicePolicy('parser', { ...fast, timeoutMs: 15, maxAttempts: 2, breaker: { kind: 'consecutive', threshold: 2 } });
      for (let i = 0; i < 3; i++)
        await expect(p.execute(hang, { inputKey: 'doc-huge' })).rejects.toMatchObject({ kind: 'transient', code: 'timeout' });
      expect(p.status()).toMatchObject({ state: 'closed', failures: 1 });
      await expect(p.execute(scripted('other doc').fn, { inputKey: 'doc-small' })).resolves.toBe('other doc');
    });

    it('a stalled service opens the breaker by timeouts, half-opens, and closes once it answers again', async () => {
      const changes: string[] = [];
      const p = new ServicePolicy('parser', {
        ...fast,
        timeoutMs: 15,
        maxAttempts: 1,
        breaker: { kind: 'consecutive', threshold: 2 },
        halfOpenAfterMs: 30,
      });
      p.onStateChange((c) => changes.push(c.state));
      for (const key of ['a', 'b'])
        await expect(p.execute(hang, { inputKey: key })).rejects.toMatchObject({ kind: 'transient', code: 'timeout' });
      expect(p.status().state).toBe('open');
      await expect(p.execute(hang, { inputKey: 'c' })).rejects.toBeInstanceOf(BreakerOpenError);
      await sleep(45);
      await expect(p.execute(scripted('back').fn, { inputKey: 'c' })).resolves.toBe('back');
      expect(p.status()).toMatchObject({ state: 'closed', failures: 0 });
      expect(changes).toEqual(['open', 'half_open', 'closed']);
    });
  });

  it('rejects invalid options', () => {
    expect(() => new ServicePolicy('x', { maxAttempts: 0 })).toThrow(RangeError);
    expect(() => new ServicePolicy('x', { timeoutMs: -1 })).toThrow(RangeError);
    expect(() => new ServicePolicy('x', { breaker: { kind: 'consecutive', threshold: 0 } })).toThrow(RangeError);
    expect(() => new ServicePolicy('x', { breaker: { kind: 'sampling', threshold: 1, durationMs: 1000 } })).toThrow(RangeError);
  });
});
