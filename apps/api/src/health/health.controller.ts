import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '@app/auth';
import { DatabaseHealthIndicator } from '@app/observability';
import { StorageHealthIndicator } from '@app/storage';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DatabaseHealthIndicator,
    private readonly storage: StorageHealthIndicator,
  ) {}

  /** The process answers: nothing else is checked (an orchestrator restarts us when this fails). */
  @Public()
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready to serve: the database answers with every migration applied, storage is reachable. 503 naming the failing part otherwise. */
  @Public()
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.db.check('database'), () => this.storage.check('storage')]);
  }
}
