import { Controller, Get, Inject, Res, Type } from '@nestjs/common';
import { ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.config';
import { MetricsService } from './metrics.service';

/**
 * Builds the scrape controller: `GET /<path>` -> the registry in Prometheus text format 0.0.4
 * (`Content-Type: text/plain; version=0.0.4; charset=utf-8`, written as is). A class per module
 * instance so each app may decorate it (`@Public()` behind a global auth guard).
 */
export function createMetricsController(path: string, decorators: readonly ClassDecorator[] = []): Type<unknown> {
  @Controller(path)
  class MetricsController {
    constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

    @Get()
    async scrape(@Res() res: ServerResponse): Promise<void> {
      const body = await this.metrics.scrape();
      res.statusCode = 200;
      res.setHeader('Content-Type', PROMETHEUS_CONTENT_TYPE);
      res.setHeader('Cache-Control', 'no-store');
      res.end(body);
    }
  }
  for (const decorate of decorators) decorate(MetricsController);
  return MetricsController;
}
