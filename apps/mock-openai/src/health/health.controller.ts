import { Controller, Get, UseFilters } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { TokenizerHealthIndicator } from '../tokenizer/tokenizer.health';
import { HealthExceptionFilter } from './health-exception.filter';

@Controller('health')
@UseFilters(HealthExceptionFilter)
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly tokenizer: TokenizerHealthIndicator,
  ) {}

  /** The process is up. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) })]);
  }

  /** Ready to serve: the tokenizer is loaded. 503 otherwise. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.tokenizer.check()]);
  }
}
