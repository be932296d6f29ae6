import { ConfigError, DatabaseConfig, DEV_STORAGE_SECRET, loadConfig, StorageConfig } from '@app/config';
import { WorkerConfig } from './app.config';

const DB = 'postgres://u:p@db:5432/ingest';

function problems(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(WorkerConfig, env, 'worker');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return Object.fromEntries(e.problems.map((p) => [p.variable, p.messages.join('; ')]));
  }
  return {};
}

describe('WorkerConfig', () => {
  it('extends the shared database and storage settings', () => {
    const c = loadConfig(WorkerConfig, { DATABASE_URL: DB });
    expect(c).toBeInstanceOf(StorageConfig);
    expect(c).toBeInstanceOf(DatabaseConfig);
    expect(c).toMatchObject({
      DATABASE_URL: DB,
      DB_POOL_SIZE: 20,
      DB_MIGRATE_ON_START: true,
      PUBLIC_BASE_URL: 'http://127.0.0.1:8000',
      STORAGE_DRIVER: 'local',
      STORAGE_LOCAL_ROOT: '.data/storage',
      STORAGE_SIGNING_SECRET: DEV_STORAGE_SECRET,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: false,
      WORKER_PORT: 8003,
    });
  });

  it("applies the base classes' validation", () => {
    expect(problems({})).toEqual({ DATABASE_URL: 'DATABASE_URL must be a postgres:// URL' });
    expect(problems({ DATABASE_URL: DB, DB_MIGRATE_ON_START: 'maybe', STORAGE_DRIVER: 'gcs', STORAGE_SIGNING_SECRET: 'short' })).toEqual({
      DB_MIGRATE_ON_START: 'DB_MIGRATE_ON_START must be true or false (also 1/0, yes/no, on/off)',
      STORAGE_DRIVER: 'STORAGE_DRIVER must be one of the following values: local, s3',
      STORAGE_SIGNING_SECRET: 'STORAGE_SIGNING_SECRET must be at least 32 characters',
    });
    expect(problems({ DATABASE_URL: DB, STORAGE_DRIVER: 's3' })).toHaveProperty('S3_BUCKET');
    expect(loadConfig(WorkerConfig, { DATABASE_URL: DB, DB_MIGRATE_ON_START: 'false', STORAGE_DRIVER: 's3', S3_BUCKET: 'docs' })).toMatchObject({
      DB_MIGRATE_ON_START: false,
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'docs',
    });
  });

  it('keeps its own pool size range (2..200)', () => {
    expect(loadConfig(WorkerConfig, { DATABASE_URL: DB, DB_POOL_SIZE: '2' }).DB_POOL_SIZE).toBe(2);
    expect(problems({ DATABASE_URL: DB, DB_POOL_SIZE: '1' })).toEqual({ DB_POOL_SIZE: 'DB_POOL_SIZE must not be less than 2' });
    expect(problems({ DATABASE_URL: DB, DB_POOL_SIZE: '201' })).toEqual({ DB_POOL_SIZE: 'DB_POOL_SIZE must not be greater than 200' });
  });

  it('defaults retention to 30 days of events, 7 of webhook_log, every 10 minutes, 1000 rows a statement; 0 = keep', () => {
    expect(loadConfig(WorkerConfig, { DATABASE_URL: DB })).toMatchObject({
      RETENTION_EVENTS_DAYS: 30,
      RETENTION_WEBHOOK_LOG_DAYS: 7,
      RETENTION_INTERVAL_MS: 600_000,
      RETENTION_BATCH: 1000,
    });
    expect(loadConfig(WorkerConfig, { DATABASE_URL: DB, RETENTION_EVENTS_DAYS: '0', RETENTION_WEBHOOK_LOG_DAYS: '0' })).toMatchObject({
      RETENTION_EVENTS_DAYS: 0,
      RETENTION_WEBHOOK_LOG_DAYS: 0,
    });
    expect(problems({ DATABASE_URL: DB, RETENTION_BATCH: '0' })).toEqual({ RETENTION_BATCH: 'RETENTION_BATCH must not be less than 1' });
  });
});
