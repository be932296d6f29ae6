import type { HealthIndicatorResult } from '@nestjs/terminus';

/** What our indicators return: terminus results, one entry per checked part (`database`, `database_migrations`). */
export type IndicatorResult = HealthIndicatorResult;

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
