import { Controller, Get, Header, Inject, Type } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.config';
import { MetricsService } from './metrics.service';

/**
 * Builds the scrape controller: `GET /<path>` -> the registry in Prometheus text format 0.0.4.
 * A class per module instance so each app may decorate it (`@Public()` behind a global auth guard).
 */
export function createMetricsController(path: string, decorators: readonly ClassDecorator[] = []): Type<unknown> {
  @Controller(path)
  class MetricsController {
    constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

    @Get()
    @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
    @Header('Cache-Control', 'no-store')
    scrape(): Promise<string> {
      return this.metrics.scrape();
    }
  }
  for (const decorate of decorators) decorate(MetricsController);
  return MetricsController;
}
