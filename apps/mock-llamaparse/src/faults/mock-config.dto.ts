import { IsInt, IsOptional } from 'class-validator';
import { IsIntIn, IsRate } from '../common/validators';
import { FaultSettings } from './fault-config.service';

/** Body of `PUT /_mock/config`: any subset of the fault knobs; omitted ones keep their value. */
export class MockConfigDto implements Partial<FaultSettings> {
  @IsOptional()
  @IsIntIn(0, 600_000)
  latencyMs?: number;

  @IsOptional()
  @IsRate()
  errorRate?: number;

  @IsOptional()
  @IsRate()
  rateLimitRate?: number;

  @IsOptional()
  @IsIntIn(0, 3600)
  retryAfterSeconds?: number;

  @IsOptional()
  @IsRate()
  timeoutRate?: number;

  @IsOptional()
  @IsIntIn(0, 600_000)
  timeoutMs?: number;

  @IsOptional()
  @IsRate()
  dropWebhookRate?: number;

  @IsOptional()
  @IsRate()
  fail402Rate?: number;

  @IsOptional()
  @IsRate()
  upload429Rate?: number;

  @IsOptional()
  @IsRate()
  partialSuccessRate?: number;

  @IsOptional()
  @IsInt()
  seed?: number;
}
