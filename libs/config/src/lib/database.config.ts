import { Matches } from 'class-validator';
import { EnvBoolean } from './transforms';

/**
 * The PostgreSQL settings every app with a database reads (api, worker): extend it, and the
 * decorators come along (class-validator and class-transformer follow `extends`).
 *
 * `DB_POOL_SIZE` is not here: each app declares it with its own default and range
 * (the api 10 of 1..200, the worker 20 of 2..200, one more connection for LISTEN).
 */
export class DatabaseConfig {
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL: string;

  @EnvBoolean()
  DB_MIGRATE_ON_START: boolean = true;
}
