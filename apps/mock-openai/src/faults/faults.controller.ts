import { Body, Controller, Delete, Get, Put, ValidationPipe } from '@nestjs/common';
import { StatsService, StatsSnapshot } from '../common/stats.service';
import { MockConfigPatchDto, MockSettings } from './mock-config.dto';
import { FaultsService } from './faults.service';

const strict = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });

/** Admin endpoints to change faults at run time and read counters (no auth: a test fixture). */
@Controller('_mock')
export class FaultsController {
  constructor(
    private readonly faults: FaultsService,
    private readonly stats: StatsService,
  ) {}

  @Get('config')
  getConfig(): MockSettings {
    return this.faults.current();
  }

  @Put('config')
  putConfig(@Body(strict) patch: MockConfigPatchDto): MockSettings {
    return this.faults.update(patch);
  }

  /** Restores the configuration the app started with. */
  @Delete('config')
  resetConfig(): MockSettings {
    return this.faults.reset();
  }

  @Get('stats')
  getStats(): StatsSnapshot {
    return this.stats.snapshot();
  }

  @Delete('stats')
  resetStats(): StatsSnapshot {
    this.stats.reset();
    return this.stats.snapshot();
  }
}
