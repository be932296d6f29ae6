// Logging
export * from './lib/logging/correlation';
export { correlationMiddleware, ensureRequestId } from './lib/logging/correlation.middleware';
export * from './lib/logging/redact';
export * from './lib/logging/logging.config';
export * from './lib/logging/logging.module';
/** nestjs-pino's Nest logger: `app.useLogger(app.get(PinoNestLogger))` (same class as `Logger` from 'nestjs-pino'). */
export { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';

// Metrics
export * from './lib/metrics/metrics.config';
export * from './lib/metrics/metrics.service';
export { HttpMetricsMiddleware, routeTemplateOf } from './lib/metrics/http-metrics.middleware';
export { createMetricsController } from './lib/metrics/metrics.controller';
export * from './lib/metrics/metrics.module';
export * from './lib/metrics/cluster-metrics';

// Health
export * from './lib/health/with-timeout';
export type { IndicatorResult } from './lib/health/health.types';
export * from './lib/health/database.health';
export * from './lib/health/breakers.health';
export * from './lib/health/heartbeat.health';
