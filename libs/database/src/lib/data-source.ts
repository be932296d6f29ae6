import { Logger } from '@nestjs/common';
import { DataSource, DataSourceOptions, QueryRunner } from 'typeorm';
import { ENTITIES } from './entities';
import { buildMigrations } from './migrations';
import { SCHEMA } from './schema';

export interface DatabaseOptions {
  url: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  embeddingDimensions?: number;
  applicationName?: string;
  /** Statement timeout in ms for every connection (0 = none). */
  statementTimeoutMs?: number;
  logging?: boolean;
}

export const DEFAULT_EMBEDDING_DIMENSIONS = 1536;

export function dataSourceOptions(opts: DatabaseOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: opts.url,
    entities: ENTITIES,
    migrations: buildMigrations({ embeddingDimensions: opts.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS }),
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    schema: SCHEMA,
    synchronize: false,
    migrationsRun: false,
    logging: opts.logging ? ['error', 'warn', 'migration'] : ['error'],
    applicationName: opts.applicationName ?? 'ingest',
    extra: {
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    },
  };
}

export function createDataSource(opts: DatabaseOptions): DataSource {
  return new DataSource(dataSourceOptions(opts));
}

/** A stable 64-bit key for pg_advisory_lock, so only one process migrates at a time. */
const MIGRATION_LOCK_KEY = '7261746564696e67';
const MIGRATION_LOCK_POLL_MS = 100;

export interface RunMigrationsOptions {
  /** While waiting for another process's migration lock, log who holds it this often (ms). Default 10,000. */
  lockWaitLogMs?: number;
}

const migrationsLogger = new Logger('Migrations');

/**
 * Runs pending migrations under a session advisory lock (several apps may start together), creating
 * the schema first so the migrations table can live in it. Safe to call on every start.
 * Returns the names of the migrations that ran.
 */
export async function runMigrations(ds: DataSource, opts: RunMigrationsOptions = {}): Promise<string[]> {
  const logEveryMs = opts.lockWaitLogMs ?? 10_000;
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    // Polled, not waited for: a session blocked in pg_advisory_lock holds a snapshot, and a migration that builds an
    // index CONCURRENTLY waits for every older snapshot, so two processes migrating together would hang for good
    // (the lock holder waits for the index, the index for the waiting process, the waiting process for the lock).
    const since = Date.now();
    let loggedAt = since;
    while (!((await runner.query(`SELECT pg_try_advisory_lock(x'${MIGRATION_LOCK_KEY}'::bigint) AS locked`)) as { locked: boolean }[])[0].locked) {
      if (Date.now() - loggedAt >= logEveryMs) {
        loggedAt = Date.now();
        migrationsLogger.warn(`waiting ${Math.round((loggedAt - since) / 1000)} s for the migration lock, held by ${await lockHolder(runner)}`);
      }
      await new Promise((r) => setTimeout(r, MIGRATION_LOCK_POLL_MS));
    }
    await runner.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    const ran = await ds.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(x'${MIGRATION_LOCK_KEY}'::bigint)`).catch(() => undefined);
    await runner.release();
  }
}

/** Who holds the migration lock: pid, application name and what that session is doing, for the wait's log line. */
async function lockHolder(runner: QueryRunner): Promise<string> {
  const key = BigInt(`0x${MIGRATION_LOCK_KEY}`);
  const rows = (await runner
    .query(
      `SELECT a.pid, a.application_name AS app, a.state, left(a.query, 120) AS query
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1`,
      [Number(key >> 32n), Number(key & 0xffffffffn)],
    )
    .catch(() => [])) as { pid: number; app: string; state: string; query: string }[];
  if (!rows.length) return 'a session that could not be identified';
  const h = rows[0];
  return `pid ${h.pid} (application_name ${JSON.stringify(h.app)}, ${h.state}: ${JSON.stringify(h.query)})`;
}

/** Names of migrations known to the code but not applied to the database (empty when up to date). */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const [{ present }] = (await ds.query(`SELECT to_regclass('${SCHEMA}.migrations') IS NOT NULL AS present`)) as {
    present: boolean;
  }[];
  const rows = present ? ((await ds.query(`SELECT name FROM ${SCHEMA}.migrations`)) as { name: string }[]) : [];
  const applied = new Set(rows.map((r) => r.name));
  return ds.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !applied.has(n));
}

export interface EmbeddingSettings {
  storage: 'pgvector' | 'real_array';
  dimensions: number | null;
}

export async function readEmbeddingSettings(ds: DataSource): Promise<EmbeddingSettings> {
  const rows = (await ds.query(`SELECT value FROM ${SCHEMA}.schema_settings WHERE key = 'embedding'`)) as {
    value: EmbeddingSettings;
  }[];
  if (!rows.length) throw new Error('schema_settings.embedding missing: migrations have not run');
  return rows[0].value;
}

/** Connects to `url`, applies pending migrations, disconnects. Used by `npm start` and test templates. */
export async function migrateDatabase(opts: DatabaseOptions): Promise<string[]> {
  const ds = createDataSource({ ...opts, poolSize: 2 });
  await ds.initialize();
  try {
    return await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

/** Identifies the schema the migrations produce, for caching migrated test templates. */
export function migrationFingerprint(opts: { embeddingDimensions?: number } = {}): string {
  const dims = opts.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
  return `${buildMigrations({ embeddingDimensions: dims })
    .map((m) => m.name)
    .join(',')}:${dims}`;
}

/** The template for per-test-file databases (see @app/testing createTestDatabase). */
export function migratedTemplate(opts: { embeddingDimensions?: number } = {}): {
  fingerprint: string;
  migrate(url: string): Promise<void>;
} {
  return {
    fingerprint: migrationFingerprint(opts),
    migrate: async (url) => {
      await migrateDatabase({ url, embeddingDimensions: opts.embeddingDimensions });
    },
  };
}
