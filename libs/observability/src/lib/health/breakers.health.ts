import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { BreakerStatus } from '@app/circuit-breaker';
import { IndicatorResult } from './health.types';

/** What the indicator needs of a breaker registry (`BreakerRegistry` from @app/circuit-breaker fits). */
export interface BreakerStatesSource {
  states(): ReadonlyArray<Pick<BreakerStatus, 'name' | 'state'> & Partial<Pick<BreakerStatus, 'failures' | 'lastError'>>>;
}

const FAILING_STATES = new Set(['open', 'isolated']);

/**
 * Down when any circuit breaker is open or isolated (its service is failing fast). Detail:
 * `{ open: ['parser'], services: { parser: { state, failures, last_error? }, ... } }`.
 */
export class BreakersHealthIndicator {
  private readonly health = new HealthIndicatorService();

  constructor(private readonly breakers: BreakerStatesSource) {}

  /** A provider for Nest DI: `BreakersHealthIndicator.provider({ inject: BreakerRegistry })`. */
  static provider(options: { inject: InjectionToken; provide?: InjectionToken }): FactoryProvider<BreakersHealthIndicator> {
    return {
      provide: options.provide ?? BreakersHealthIndicator,
      inject: [options.inject],
      useFactory: (source: BreakerStatesSource) => new BreakersHealthIndicator(source),
    };
  }

  check(key = 'breakers'): IndicatorResult {
    const session = this.health.check(key);
    const states = this.breakers.states();
    const services = Object.fromEntries(
      states.map((b) => [
        b.name,
        { state: b.state, ...(b.failures !== undefined ? { failures: b.failures } : {}), ...(b.lastError ? { last_error: b.lastError } : {}) },
      ]),
    );
    const open = states.filter((b) => FAILING_STATES.has(b.state)).map((b) => b.name);
    return open.length
      ? session.down({ open, services, message: `circuit open: ${open.join(', ')}` })
      : session.up({ open, services });
  }
}
