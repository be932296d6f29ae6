import { loadConfig } from '@app/config';
import { AppConfig } from '../app.config';
import { OpenAIApiError } from '../common/openai-error';
import { RateLimitService } from './rate-limit.service';
import { TokenBucket, formatResetDuration } from './token-bucket';

describe('formatResetDuration', () => {
  it.each([
    [0, '0s'],
    [0.4, '1ms'],
    [20, '20ms'],
    [999.2, '1s'],
    [1000, '1s'],
    [1500, '1.5s'],
    [360_000, '6m0s'],
    [61_250, '1m1.25s'],
    [3_723_000, '1h2m3s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});

describe('TokenBucket', () => {
  it('refills continuously up to its capacity', () => {
    const b = new TokenBucket(60, 0);
    b.take(60, 0);
    expect(b.remaining(0)).toBe(0);
    expect(b.remaining(1000)).toBe(1);
    expect(b.msUntilAvailable(10, 1000)).toBe(9000);
    expect(b.remaining(10 * 60_000)).toBe(60);
    expect(b.msUntilAvailable(61, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('RateLimitService', () => {
  let now = 0;
  const service = (env: Record<string, string>): RateLimitService =>
    new RateLimitService(loadConfig(AppConfig, env), () => now);

  function caught(fn: () => unknown): OpenAIApiError {
    try {
      fn();
    } catch (e) {
      if (e instanceof OpenAIApiError) return e;
    }
    throw new Error('expected a 429');
  }

  beforeEach(() => {
    now = 1_000_000;
  });

  it('reports the six x-ratelimit headers and spends the budget', () => {
    const rl = service({ MOCK_OPENAI_RPM: '60', MOCK_OPENAI_TPM: '6000' });
    const h = rl.consume('m', 100);
    expect(h).toEqual({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '6000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '5900',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '1s',
    });
  });

  it('reports the headers of the instant it decided, however much time passes on the clock meanwhile', () => {
    // a clock that moves on at every read: the headers must not come from a later read (5.999s instead of 6s)
    const ticking = new RateLimitService(loadConfig(AppConfig, { MOCK_OPENAI_RPM: '10', MOCK_OPENAI_TPM: '1000' }), () => now++);
    const h = ticking.consume('m', 500);
    expect(h['x-ratelimit-reset-requests']).toBe('6s');
    expect(h['x-ratelimit-reset-tokens']).toBe('30s');
    expect(h['x-ratelimit-remaining-requests']).toBe('9');
  });

  it('answers 429 on requests with retry-after once RPM is spent, and recovers', () => {
    const rl = service({ MOCK_OPENAI_RPM: '2' });
    rl.consume('m', 1);
    rl.consume('m', 1);
    const e = caught(() => rl.consume('m', 1));
    expect(e.getStatus()).toBe(429);
    expect(e.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(e.headers['retry-after-ms']).toBe('30000');
    expect(e.headers['retry-after']).toBe('30');
    expect(e.headers['x-ratelimit-remaining-requests']).toBe('0');
    now += 30_000;
    expect(() => rl.consume('m', 1)).not.toThrow();
  });

  it('answers 429 on tokens without spending anything', () => {
    const rl = service({ MOCK_OPENAI_TPM: '600' });
    rl.consume('m', 590);
    const e = caught(() => rl.consume('m', 20));
    expect(e.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(e.headers['retry-after-ms']).toBe('1000');
    expect(rl.headers()['x-ratelimit-remaining-tokens']).toBe('10');
  });

  it('answers "request too large" when one request exceeds the whole TPM', () => {
    const e = caught(() => service({ MOCK_OPENAI_TPM: '100' }).consume('m', 101));
    expect(e.getStatus()).toBe(429);
    expect(e.error.message).toContain('Request too large');
    expect(e.headers['retry-after']).toBeUndefined();
  });

  it('can be reconfigured at run time', () => {
    const rl = service({ MOCK_OPENAI_RPM: '1' });
    rl.consume('m', 1);
    rl.configure({ rpm: 5, tpm: 50 });
    expect(rl.current()).toEqual({ rpm: 5, tpm: 50 });
    expect(rl.headers()['x-ratelimit-remaining-requests']).toBe('5');
  });
});
