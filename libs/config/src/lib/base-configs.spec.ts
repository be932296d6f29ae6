import { IsInt, Min } from 'class-validator';
import { DatabaseConfig } from './database.config';
import { ConfigError, loadConfig } from './load-config';
import { DEV_STORAGE_SECRET, StorageConfig } from './storage.config';

const DB = 'postgres://u:p@db:5432/ingest';

/** An app class as the api's and the worker's are: the shared settings plus its own. */
class SampleAppConfig extends StorageConfig {
  @IsInt()
  @Min(1)
  OWN_SETTING: number = 7;
}

function problems(cls: new () => object, env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(cls, env, 'sample');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return Object.fromEntries(e.problems.map((p) => [p.variable, p.messages.join('; ')]));
  }
  return {};
}

describe('DatabaseConfig', () => {
  it('requires a postgres:// DATABASE_URL and migrates on start by default', () => {
    expect(problems(DatabaseConfig, {})).toEqual({ DATABASE_URL: 'DATABASE_URL must be a postgres:// URL' });
    expect(problems(DatabaseConfig, { DATABASE_URL: 'mysql://x/y' })).toEqual({ DATABASE_URL: 'DATABASE_URL must be a postgres:// URL' });
    expect(loadConfig(DatabaseConfig, { DATABASE_URL: 'postgresql://h/db' })).toEqual({ DATABASE_URL: 'postgresql://h/db', DB_MIGRATE_ON_START: true });
    expect(loadConfig(DatabaseConfig, { DATABASE_URL: DB, DB_MIGRATE_ON_START: 'off' }).DB_MIGRATE_ON_START).toBe(false);
  });
});

describe('StorageConfig', () => {
  it('has the documented defaults, and the database settings of DatabaseConfig', () => {
    const c = loadConfig(StorageConfig, { DATABASE_URL: DB });
    expect(c).toBeInstanceOf(DatabaseConfig);
    expect({ ...c }).toEqual({
      DATABASE_URL: DB,
      DB_MIGRATE_ON_START: true,
      PUBLIC_BASE_URL: 'http://127.0.0.1:8000',
      STORAGE_DRIVER: 'local',
      STORAGE_LOCAL_ROOT: '.data/storage',
      STORAGE_SIGNING_SECRET: DEV_STORAGE_SECRET,
      S3_BUCKET: undefined,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: undefined,
      S3_FORCE_PATH_STYLE: false,
      S3_ACCESS_KEY_ID: undefined,
      S3_SECRET_ACCESS_KEY: undefined,
    });
    expect(problems(StorageConfig, {})).toEqual({ DATABASE_URL: 'DATABASE_URL must be a postgres:// URL' });
  });

  it('rejects bad storage values', () => {
    expect(
      problems(StorageConfig, {
        DATABASE_URL: DB,
        STORAGE_DRIVER: 'gcs',
        STORAGE_SIGNING_SECRET: 'too-short',
        PUBLIC_BASE_URL: 'ftp://x',
        S3_ENDPOINT: 'not a url',
        S3_FORCE_PATH_STYLE: 'maybe',
      }),
    ).toEqual({
      STORAGE_DRIVER: 'STORAGE_DRIVER must be one of the following values: local, s3',
      STORAGE_SIGNING_SECRET: 'STORAGE_SIGNING_SECRET must be at least 32 characters',
      PUBLIC_BASE_URL: 'PUBLIC_BASE_URL must be a URL address',
      S3_ENDPOINT: 'S3_ENDPOINT must be a URL address',
      S3_FORCE_PATH_STYLE: 'S3_FORCE_PATH_STYLE must be true or false (also 1/0, yes/no, on/off)',
    });
  });

  it('requires S3_BUCKET only with STORAGE_DRIVER=s3', () => {
    expect(problems(StorageConfig, { DATABASE_URL: DB, STORAGE_DRIVER: 's3' })).toHaveProperty('S3_BUCKET');
    expect(problems(StorageConfig, { DATABASE_URL: DB, STORAGE_DRIVER: 's3', S3_BUCKET: 'ab' })).toEqual({
      S3_BUCKET: 'S3_BUCKET must be longer than or equal to 3 characters',
    });
    const c = loadConfig(StorageConfig, { DATABASE_URL: DB, STORAGE_DRIVER: 's3', S3_BUCKET: 'docs', S3_FORCE_PATH_STYLE: 'yes' });
    expect(c).toMatchObject({ STORAGE_DRIVER: 's3', S3_BUCKET: 'docs', S3_FORCE_PATH_STYLE: true });
  });
});

describe('an app class extending the base classes', () => {
  it('validates the inherited variables together with its own', () => {
    expect(problems(SampleAppConfig, { OWN_SETTING: '0', STORAGE_SIGNING_SECRET: 'short', DB_MIGRATE_ON_START: 'maybe' })).toEqual({
      OWN_SETTING: 'OWN_SETTING must not be less than 1',
      DATABASE_URL: 'DATABASE_URL must be a postgres:// URL',
      DB_MIGRATE_ON_START: 'DB_MIGRATE_ON_START must be true or false (also 1/0, yes/no, on/off)',
      STORAGE_SIGNING_SECRET: 'STORAGE_SIGNING_SECRET must be at least 32 characters',
    });
  });

  it('converts and defaults the inherited variables', () => {
    const c = loadConfig(SampleAppConfig, { DATABASE_URL: DB, OWN_SETTING: '3', DB_MIGRATE_ON_START: 'false', S3_FORCE_PATH_STYLE: '1' });
    expect(c).toMatchObject({ OWN_SETTING: 3, DATABASE_URL: DB, DB_MIGRATE_ON_START: false, S3_FORCE_PATH_STYLE: true, STORAGE_DRIVER: 'local' });
    expect(Object.isFrozen(c)).toBe(true);
  });
});
