import { DynamicModule, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { createMetricsController } from './metrics.controller';
import { METRICS_OPTIONS, MetricsModuleOptions } from './metrics.config';
import { MetricsService } from './metrics.service';

/**
 * Global: `MetricsService` (the app's own prom-client Registry), `GET /metrics`, and the HTTP duration
 * middleware. One `forRoot` per app.
 */
@Module({})
export class MetricsModule implements NestModule {
  constructor(private readonly metrics: MetricsService) {}

  static forRoot(options: MetricsModuleOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [createMetricsController(options.path ?? 'metrics', options.controllerDecorators)],
      providers: [{ provide: METRICS_OPTIONS, useValue: options }, MetricsService, HttpMetricsMiddleware],
      exports: [MetricsService],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    if (this.metrics.options.httpMetrics === false) return;
    consumer.apply(HttpMetricsMiddleware).forRoutes({ path: '*', method: RequestMethod.ALL });
  }
}
