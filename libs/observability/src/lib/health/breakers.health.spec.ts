import { Logger } from '@nestjs/common';
import { BreakerRegistry } from '@app/circuit-breaker';
import { BreakersHealthIndicator } from './breakers.health';
import { HeartbeatHealthIndicator } from './heartbeat.health';

describe('BreakersHealthIndicator', () => {
  beforeAll(() => Logger.overrideLogger(false)); // breaker and collector warnings are expected here

  it('up while every breaker is closed; lists each', () => {
    const reg = new BreakerRegistry({ services: { parser: {}, embedder: {} } });
    expect(new BreakersHealthIndicator(reg).check()).toEqual({
      breakers: {
        status: 'up',
        open: [],
        services: { parser: { state: 'closed', failures: 0 }, embedder: { state: 'closed', failures: 0 } },
      },
    });
  });

  it('down when one is open or isolated, naming it', () => {
    const reg = new BreakerRegistry({ services: { parser: {}, embedder: {} } });
    const iso = reg.get('embedder').isolate();
    const r = new BreakersHealthIndicator(reg).check('circuit_breakers');
    expect(r['circuit_breakers']).toMatchObject({
      status: 'down',
      open: ['embedder'],
      message: 'circuit open: embedder',
      services: { parser: { state: 'closed' }, embedder: { state: 'isolated' } },
    });
    iso.dispose();
    expect(new BreakersHealthIndicator(reg).check()['breakers']['status']).toBe('up');
  });

  it('works with any states() source; no breakers is up', () => {
    expect(new BreakersHealthIndicator({ states: () => [] }).check()['breakers']).toMatchObject({ status: 'up', services: {} });
    const r = new BreakersHealthIndicator({ states: () => [{ name: 'storage', state: 'open', lastError: 'timeout' }] }).check();
    expect(r['breakers']).toMatchObject({ status: 'down', services: { storage: { state: 'open', last_error: 'timeout' } } });
  });
});

describe('HeartbeatHealthIndicator', () => {
  const now = Date.parse('2025-01-01T00:00:10.000Z');

  it('up while the last beat is recent enough', () => {
    const ind = new HeartbeatHealthIndicator({
      lastBeat: () => new Date(now - 4_000),
      maxSilenceMs: 5_000,
      now: () => now,
      detail: () => ({ in_flight: 2, status: 'ignored' }),
    });
    expect(ind.check('worker_loop')).toEqual({
      worker_loop: { status: 'up', in_flight: 2, last_beat_at: '2025-01-01T00:00:06.000Z', silent_ms: 4_000, max_silence_ms: 5_000 },
    });
  });

  it('down when silent too long, or never beaten', () => {
    let beat: Date | null = new Date(now - 5_001);
    const ind = new HeartbeatHealthIndicator({ lastBeat: () => beat, maxSilenceMs: 5_000, now: () => now });
    expect(ind.check()['heartbeat']).toMatchObject({
      status: 'down',
      silent_ms: 5_001,
      message: 'no heartbeat for 5001 ms (limit 5000 ms)',
    });
    beat = null;
    expect(ind.check()['heartbeat']).toMatchObject({ status: 'down', last_beat_at: null, silent_ms: null, message: 'no heartbeat yet' });
  });
});
