import { loadConfig } from '@app/config';
import { MockLlamaParseConfig } from '../app.config';
import { FaultConfigService, RequestFault } from './fault-config.service';
import { Prng } from './prng';

const service = (env: Record<string, string> = {}): FaultConfigService =>
  new FaultConfigService(loadConfig(MockLlamaParseConfig, env));

const take = (s: FaultConfigService, n: number): RequestFault[] => Array.from({ length: n }, () => s.nextRequestFault());

describe('Prng', () => {
  it('gives the same sequence for the same seed and different ones for other seeds or streams', () => {
    const seq = (p: Prng): number[] => Array.from({ length: 20 }, () => p.next());
    expect(seq(new Prng(42))).toEqual(seq(new Prng(42)));
    expect(seq(new Prng(42))).not.toEqual(seq(new Prng(43)));
    expect(seq(Prng.stream(42, 1))).not.toEqual(seq(Prng.stream(42, 2)));
    for (const x of seq(new Prng(7))) expect(x >= 0 && x < 1).toBe(true);
  });

  it('is roughly uniform', () => {
    const p = new Prng(1);
    const n = 20_000;
    let below = 0;
    for (let i = 0; i < n; i++) if (p.next() < 0.3) below++;
    expect(below / n).toBeGreaterThan(0.28);
    expect(below / n).toBeLessThan(0.32);
  });
});

describe('FaultConfigService', () => {
  it('starts from the environment', () => {
    const s = service({ MOCK_LLAMAPARSE_ERROR_RATE: '0.25', MOCK_LLAMAPARSE_LATENCY_MS: '100', MOCK_SEED: '9' });
    expect(s.get()).toMatchObject({ errorRate: 0.25, latencyMs: 100, seed: 9, timeoutMs: 30_000, dropWebhookRate: 0 });
  });

  it('injects nothing at rate 0 and always at rate 1, timeout first', () => {
    expect(take(service(), 50).every((f) => f.kind === 'none')).toBe(true);
    const all = service({ MOCK_LLAMAPARSE_TIMEOUT_RATE: '1', MOCK_LLAMAPARSE_ERROR_RATE: '1', MOCK_LLAMAPARSE_TIMEOUT_MS: '5' });
    expect(take(all, 5)).toEqual(Array(5).fill({ kind: 'timeout', ms: 5 }));
    const limited = service({ MOCK_LLAMAPARSE_RATE_LIMIT_RATE: '1', MOCK_LLAMAPARSE_RETRY_AFTER_S: '3' });
    expect(limited.nextRequestFault()).toEqual({ kind: 'rateLimit', retryAfterSeconds: 3 });
  });

  it('reproduces the same fault sequence for the same seed, and reseeding restarts it', () => {
    const env = { MOCK_LLAMAPARSE_ERROR_RATE: '0.3', MOCK_LLAMAPARSE_RATE_LIMIT_RATE: '0.2', MOCK_SEED: '1234' };
    const a = take(service(env), 200);
    const b = take(service(env), 200);
    expect(a).toEqual(b);
    const kinds = new Set(a.map((f) => (f.kind === 'error' ? `error${f.status}` : f.kind)));
    expect(kinds).toEqual(new Set(['none', 'error500', 'error503', 'rateLimit']));
    expect(take(service({ ...env, MOCK_SEED: '4321' }), 200)).not.toEqual(a);

    const s = service(env);
    take(s, 37);
    s.update({ seed: 1234 });
    expect(take(s, 200)).toEqual(a);
  });

  it('draws webhook drops from their own stream', () => {
    const s = service({ MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE: '0.5', MOCK_SEED: '5' });
    const drops = Array.from({ length: 40 }, () => s.nextWebhookDropped());
    const t = service({ MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE: '0.5', MOCK_SEED: '5', MOCK_LLAMAPARSE_ERROR_RATE: '0.5' });
    take(t, 13); // request faults do not shift the webhook sequence
    expect(Array.from({ length: 40 }, () => t.nextWebhookDropped())).toEqual(drops);
    expect(drops).toContain(true);
    expect(drops).toContain(false);
  });

  it('update() merges and ignores undefined values', () => {
    const s = service();
    expect(s.update({ errorRate: 0.5, latencyMs: undefined })).toMatchObject({ errorRate: 0.5, latencyMs: 0 });
  });
});
