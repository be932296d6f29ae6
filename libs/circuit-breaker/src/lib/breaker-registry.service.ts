import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  BreakerStateListener,
  BreakerStatus,
  CIRCUIT_BREAKER_OPTIONS,
  CircuitBreakerModuleOptions,
  ServicePolicyOptions,
} from './circuit-breaker.config';
import { ServicePolicy } from './service-policy';

/** Well-known outside services; any other name works too. */
export type ServiceName = 'parser' | 'embedder' | 'storage' | (string & {});

/**
 * Holds one ServicePolicy (hence one circuit breaker) per outside service, shared by everyone in the process.
 * Injectable via CircuitBreakerModule.forRoot, or `new BreakerRegistry({ services: {...} })` without Nest.
 */
@Injectable()
export class BreakerRegistry {
  private readonly logger = new Logger('CircuitBreaker');
  private readonly policies = new Map<string, ServicePolicy>();
  private readonly listeners = new Set<BreakerStateListener>();
  private readonly options: CircuitBreakerModuleOptions;

  constructor(@Optional() @Inject(CIRCUIT_BREAKER_OPTIONS) options?: CircuitBreakerModuleOptions) {
    this.options = options ?? {};
    for (const name of Object.keys(this.options.services ?? {})) this.get(name);
  }

  /**
   * The policy for `name`, created on first use from `services[name]` over `defaults`.
   * `overrides` apply only when this call creates it (first caller wins; configured values are merged under them).
   */
  get(name: ServiceName, overrides?: ServicePolicyOptions): ServicePolicy {
    let policy = this.policies.get(name);
    if (!policy) {
      policy = new ServicePolicy(name, { ...this.options.defaults, ...overrides, ...this.options.services?.[name] });
      policy.onStateChange((change) => {
        const msg = `breaker ${change.name}: ${change.previous} -> ${change.state}`;
        if (change.state === 'open' || change.state === 'isolated') this.logger.warn(msg);
        else this.logger.log(msg);
        for (const l of this.listeners) {
          try {
            l(change);
          } catch {
            // listeners (metrics) must not break the call path
          }
        }
      });
      this.policies.set(name, policy);
    }
    return policy;
  }

  has(name: string): boolean {
    return this.policies.has(name);
  }

  /** Snapshot of every breaker, in creation order. */
  states(): BreakerStatus[] {
    return [...this.policies.values()].map((p) => p.status());
  }

  /** Called on every state change of every breaker (present and future); returns the unsubscribe function. */
  onStateChange(listener: BreakerStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
