import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { errorMessage, IndicatorResult } from './health.types';
import { withTimeout } from './with-timeout';

/** What the indicator needs of a TypeORM `DataSource` (or a `pg` pool, or a test fake). */
export interface QueryableDatabase {
  query(sql: string): Promise<unknown>;
}

export interface DatabaseHealthOptions<D extends QueryableDatabase = QueryableDatabase> {
  /** Per step (ping, migration check). Default 1500 ms. */
  timeoutMs?: number;
  /**
   * Names of migrations the code knows but the database has not applied (e.g. `pendingMigrations` from
   * @app/database). When given, any pending migration makes `<key>_migrations` down.
   */
  pendingMigrations?: (db: D) => Promise<readonly string[]>;
}

export const DEFAULT_DATABASE_HEALTH_TIMEOUT_MS = 1500;

/**
 * Readiness of the database: `SELECT 1` within a timeout (`<key>`), then, when configured, no pending
 * migrations (`<key>_migrations`, listing them). Never throws: down results name the failing part, so
 * a 503 body from `HealthCheckService.check([() => db.check()])` says what is wrong.
 */
export class DatabaseHealthIndicator<D extends QueryableDatabase = QueryableDatabase> {
  private readonly health = new HealthIndicatorService();

  constructor(
    private readonly db: D,
    private readonly options: DatabaseHealthOptions<D> = {},
  ) {}

  /**
   * A provider for Nest DI: `DatabaseHealthIndicator.provider({ inject: DataSource, pendingMigrations })`
   * (`DataSource` from typeorm is the token @nestjs/typeorm registers).
   */
  static provider<D extends QueryableDatabase>(
    options: DatabaseHealthOptions<D> & { inject: InjectionToken; provide?: InjectionToken },
  ): FactoryProvider<DatabaseHealthIndicator<D>> {
    const { inject, provide = DatabaseHealthIndicator, ...rest } = options;
    return { provide, inject: [inject], useFactory: (db: D) => new DatabaseHealthIndicator<D>(db, rest) };
  }

  async check(key = 'database'): Promise<IndicatorResult> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_DATABASE_HEALTH_TIMEOUT_MS;
    const ping = this.health.check(key);
    const started = Date.now();
    try {
      await withTimeout(this.db.query('SELECT 1'), timeoutMs, 'database ping');
    } catch (e) {
      return ping.down({ message: errorMessage(e) });
    }
    const up = ping.up({ response_ms: Date.now() - started });
    const pendingFn = this.options.pendingMigrations;
    if (!pendingFn) return up;

    const migrations = this.health.check(`${key}_migrations`);
    try {
      const pending = await withTimeout(pendingFn(this.db), timeoutMs, 'pending migrations check');
      return {
        ...up,
        ...(pending.length
          ? migrations.down({ pending: [...pending], message: `${pending.length} migration(s) not applied` })
          : migrations.up({ pending: [] })),
      };
    } catch (e) {
      return { ...up, ...migrations.down({ message: errorMessage(e) }) };
    }
  }
}
