import { loadConfig } from '@app/config';
import { AppConfig } from '../app.config';
import { OpenAIApiError } from '../common/openai-error';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { Fault, FaultsService } from './faults.service';
import { mulberry32 } from './prng';

function make(env: Record<string, string>): FaultsService {
  const config = loadConfig(AppConfig, env);
  return new FaultsService(config, new RateLimitService(config));
}

function draws(f: FaultsService, n: number): Fault[] {
  return Array.from({ length: n }, () => f.draw());
}

describe('mulberry32', () => {
  it('is reproducible and uniform enough', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(mulberry32(8)()).not.toBe(mulberry32(7)());
  });
});

describe('FaultsService', () => {
  const env = { MOCK_SEED: '42', MOCK_OPENAI_ERROR_RATE: '0.2', MOCK_OPENAI_RATE_LIMIT_RATE: '0.1', MOCK_OPENAI_TIMEOUT_RATE: '0.05' };

  it('injects nothing by default', () => {
    expect(new Set(draws(make({}), 1000))).toEqual(new Set(['none']));
  });

  it('draws the same faults for the same seed, different ones for another seed', () => {
    const seq = draws(make(env), 200);
    expect(draws(make(env), 200)).toEqual(seq);
    expect(draws(make({ ...env, MOCK_SEED: '43' }), 200)).not.toEqual(seq);
  });

  it('injects each fault at about its configured rate', () => {
    const seq = draws(make(env), 20_000);
    const share = (pred: (f: Fault) => boolean): number => seq.filter(pred).length / seq.length;
    expect(share((f) => f === 'error_500' || f === 'error_503')).toBeCloseTo(0.2, 1);
    expect(share((f) => f === 'rate_limit')).toBeCloseTo(0.1, 1);
    expect(share((f) => f === 'timeout')).toBeCloseTo(0.05, 1);
    expect(share((f) => f === 'error_500')).toBeGreaterThan(0.07);
    expect(share((f) => f === 'error_503')).toBeGreaterThan(0.07);
  });

  it('restarts the sequence when the seed is set and on reset', () => {
    const f = make(env);
    const first = draws(f, 50);
    f.update({ seed: 42 });
    expect(draws(f, 50)).toEqual(first);
    f.update({ errorRate: 1, rateLimitRate: 0, timeoutRate: 0, latencyMs: 5 });
    expect(f.current()).toMatchObject({ errorRate: 1, latencyMs: 5 });
    expect(f.reset()).toMatchObject({ errorRate: 0.2, latencyMs: 0, seed: 42 });
    expect(draws(f, 50)).toEqual(first);
  });

  it('refuses rates that sum past 1 and keeps the old settings', () => {
    const f = make(env);
    expect(() => f.update({ errorRate: 0.9 })).toThrow(OpenAIApiError);
    expect(f.current().errorRate).toBe(0.2);
  });

  it('passes tpm and rpm through to the rate limiter', () => {
    const f = make({});
    expect(f.update({ tpm: 123, rpm: 4 })).toMatchObject({ tpm: 123, rpm: 4 });
  });

  it('throws insufficient_quota when the quota is exhausted', async () => {
    const f = make({ MOCK_OPENAI_QUOTA_EXHAUSTED: 'true' });
    await expect(f.beforeEmbeddings()).rejects.toMatchObject({ error: { code: 'insufficient_quota' } });
  });

  it('releases a hanging request as a 504 on shutdown', async () => {
    const f = make({ MOCK_OPENAI_TIMEOUT_RATE: '1', MOCK_OPENAI_TIMEOUT_MS: '600000' });
    const pending = f.beforeEmbeddings();
    f.onModuleDestroy();
    await expect(pending).rejects.toMatchObject({ error: { code: 'timeout' } });
  });
});
