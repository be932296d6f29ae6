import { Test } from '@nestjs/testing';
import { BreakerRegistry } from './breaker-registry.service';
import { BreakerStateChange } from './circuit-breaker.config';
import { CircuitBreakerModule } from './circuit-breaker.module';
import { TransientError } from '@app/errors';

const fail = async (): Promise<never> => {
  throw new TransientError('down');
};

describe('BreakerRegistry', () => {
  it('creates configured services eagerly and one shared policy per name', () => {
    const r = new BreakerRegistry({
      defaults: { timeoutMs: 1234 },
      services: { parser: { maxAttempts: 2 }, embedder: { timeoutMs: 99 } },
    });
    expect(r.states().map((s) => s.name)).toEqual(['parser', 'embedder']);
    expect(r.states().every((s) => s.state === 'closed' && s.failures === 0)).toBe(true);
    expect(r.get('parser')).toBe(r.get('parser'));
    expect(r.get('parser').options).toMatchObject({ maxAttempts: 2, timeoutMs: 1234 });
    expect(r.get('embedder').options.timeoutMs).toBe(99);
    expect(r.has('storage')).toBe(false);
    expect(r.get('storage', { timeoutMs: 5 }).options.timeoutMs).toBe(5);
    expect(r.get('parser', { timeoutMs: 5 }).options.timeoutMs).toBe(1234);
  });

  it('reports state changes of every breaker to registry listeners', async () => {
    const r = new BreakerRegistry({
      services: { parser: { maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 2 }, halfOpenAfterMs: 60_000 } },
    });
    const seen: BreakerStateChange[] = [];
    const off = r.onStateChange((c) => seen.push(c));
    for (let i = 0; i < 2; i++) await r.get('parser').execute(fail).catch(() => undefined);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ name: 'parser', previous: 'closed', state: 'open' });
    expect(r.states()[0]).toMatchObject({ name: 'parser', state: 'open', failures: 2 });
    off();
    const h = r.get('parser').isolate();
    h.dispose();
    expect(seen).toHaveLength(1);
  });

  it('CircuitBreakerModule.forRoot provides a global registry with the options', async () => {
    const mod = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ services: { embedder: { maxAttempts: 4 } } })],
    }).compile();
    const r = mod.get(BreakerRegistry);
    expect(r.states()).toEqual([{ name: 'embedder', state: 'closed', failures: 0 }]);
    expect(r.get('embedder').options.maxAttempts).toBe(4);
    await mod.close();
  });
});
