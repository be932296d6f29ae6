import { availableParallelism } from 'node:os';
import { ConfigError, DatabaseConfig, DEV_STORAGE_SECRET, loadConfig, StorageConfig } from '@app/config';
import { ApiConfig, assertProductionSafe, MAX_API_PROCESSES } from './app.config';

const DB = 'postgres://u:p@db:5432/ingest';

function problems(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(ApiConfig, env, 'api');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return Object.fromEntries(e.problems.map((p) => [p.variable, p.messages.join('; ')]));
  }
  return {};
}

describe('ApiConfig', () => {
  it('extends the shared database and storage settings', () => {
    const c = loadConfig(ApiConfig, { DATABASE_URL: DB });
    expect(c).toBeInstanceOf(StorageConfig);
    expect(c).toBeInstanceOf(DatabaseConfig);
    expect(c).toMatchObject({
      DATABASE_URL: DB,
      DB_POOL_SIZE: 10,
      DB_MIGRATE_ON_START: true,
      PUBLIC_BASE_URL: 'http://127.0.0.1:8000',
      STORAGE_DRIVER: 'local',
      STORAGE_LOCAL_ROOT: '.data/storage',
      STORAGE_SIGNING_SECRET: DEV_STORAGE_SECRET,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: false,
      API_PORT: 8000,
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
    expect(loadConfig(ApiConfig, { DATABASE_URL: DB, DB_MIGRATE_ON_START: 'false', STORAGE_DRIVER: 's3', S3_BUCKET: 'docs' })).toMatchObject({
      DB_MIGRATE_ON_START: false,
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'docs',
    });
  });

  it('keeps its own pool size range (1..200)', () => {
    expect(loadConfig(ApiConfig, { DATABASE_URL: DB, DB_POOL_SIZE: '1' }).DB_POOL_SIZE).toBe(1);
    expect(problems({ DATABASE_URL: DB, DB_POOL_SIZE: '0' })).toEqual({ DB_POOL_SIZE: 'DB_POOL_SIZE must not be less than 1' });
    expect(problems({ DATABASE_URL: DB, DB_POOL_SIZE: '201' })).toEqual({ DB_POOL_SIZE: 'DB_POOL_SIZE must not be greater than 200' });
  });

  it('API_PROCESSES: 1 by default, a whole number 1..64, or auto (one a core)', () => {
    expect(loadConfig(ApiConfig, { DATABASE_URL: DB }).API_PROCESSES).toBe(1);
    expect(loadConfig(ApiConfig, { DATABASE_URL: DB, API_PROCESSES: '4' }).API_PROCESSES).toBe(4);
    expect(loadConfig(ApiConfig, { DATABASE_URL: DB, API_PROCESSES: '' }).API_PROCESSES).toBe(1);
    for (const auto of ['auto', ' AUTO ']) {
      expect(loadConfig(ApiConfig, { DATABASE_URL: DB, API_PROCESSES: auto }).API_PROCESSES).toBe(Math.min(availableParallelism(), MAX_API_PROCESSES));
    }
    expect(MAX_API_PROCESSES).toBe(64);
    const wrong = 'API_PROCESSES must be a whole number >= 1, or auto (one a core)';
    expect(problems({ DATABASE_URL: DB, API_PROCESSES: '0' })).toEqual({ API_PROCESSES: 'API_PROCESSES must not be less than 1' });
    expect(problems({ DATABASE_URL: DB, API_PROCESSES: '65' })).toEqual({ API_PROCESSES: 'API_PROCESSES must not be greater than 64' });
    expect(problems({ DATABASE_URL: DB, API_PROCESSES: '1.5' })).toEqual({ API_PROCESSES: wrong });
    expect(problems({ DATABASE_URL: DB, API_PROCESSES: 'two' })).toEqual({ API_PROCESSES: expect.stringContaining(wrong) });
  });

  it('refuses the development storage secret (declared in StorageConfig) in production', () => {
    const c = loadConfig(ApiConfig, { DATABASE_URL: DB, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });
    expect(() => assertProductionSafe(c)).toThrow(/STORAGE_SIGNING_SECRET must be set in production/);
    expect(() => assertProductionSafe(loadConfig(ApiConfig, { DATABASE_URL: DB, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), STORAGE_SIGNING_SECRET: 'y'.repeat(32) }))).not.toThrow();
  });
});
