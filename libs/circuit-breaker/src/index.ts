export * from './lib/circuit-breaker.config';
export * from './lib/service-policy';
export * from './lib/breaker-registry.service';
export * from './lib/circuit-breaker.module';
