import { Body, Controller, Delete, Get, PipeTransform, Put, ValidationPipe } from '@nestjs/common';
import { invalidRequest } from '../common/openai-error';
import { StatsService, StatsSnapshot } from '../common/stats.service';
import { MockConfigPatchDto, MockSettings } from './mock-config.dto';
import { FaultsService } from './faults.service';

const strict = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });

/**
 * Runs before `strict`: a missing body went through it as undefined (a 500 in update), and a nested
 * value was walked by class-transformer level by level (a deep one overflowed the stack, a 500).
 * Every knob is a number or a boolean, so a body must be a flat object.
 */
const flatObject: PipeTransform = {
  transform(value: unknown): unknown {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidRequest('Expected a JSON object of fault settings, e.g. {"errorRate": 0.1}.');
    }
    for (const [key, v] of Object.entries(value)) {
      if (typeof v === 'object' && v !== null) throw invalidRequest(`Invalid value for '${key}': expected a number or a boolean.`, key, 'invalid_type');
    }
    return value;
  },
};

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
  putConfig(@Body(flatObject, strict) patch: MockConfigPatchDto): MockSettings {
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
