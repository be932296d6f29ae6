import { DynamicModule, Module } from '@nestjs/common';
import { BreakerRegistry } from './breaker-registry.service';
import { CIRCUIT_BREAKER_OPTIONS, CircuitBreakerModuleOptions } from './circuit-breaker.config';

/** Global: provides the process-wide BreakerRegistry. Import once in the app module. */
@Module({})
export class CircuitBreakerModule {
  static forRoot(options: CircuitBreakerModuleOptions = {}): DynamicModule {
    return {
      module: CircuitBreakerModule,
      global: true,
      providers: [{ provide: CIRCUIT_BREAKER_OPTIONS, useValue: options }, BreakerRegistry],
      exports: [BreakerRegistry, CIRCUIT_BREAKER_OPTIONS],
    };
  }
}
