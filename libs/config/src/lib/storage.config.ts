import { IsIn, IsOptional, IsString, IsUrl, MinLength, ValidateIf } from 'class-validator';
import { DatabaseConfig } from './database.config';
import { EnvBoolean } from './transforms';

/** Development default of STORAGE_SIGNING_SECRET; the api refuses it with NODE_ENV=production. */
export const DEV_STORAGE_SECRET = 'dev-storage-signing-secret-0123456789';

/**
 * The storage settings of the api and the worker, which must point at the same place (the names
 * `storageOptionsFrom` of @app/storage reads). It extends {@link DatabaseConfig} because every app
 * that stores files also has the database: an app class extends this one and gets both.
 */
export class StorageConfig extends DatabaseConfig {
  /** Base URL clients reach the api at; signed upload URLs point here (local storage driver). */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  PUBLIC_BASE_URL: string = 'http://127.0.0.1:8000';

  @IsIn(['local', 's3'])
  STORAGE_DRIVER: 'local' | 's3' = 'local';

  @IsString()
  STORAGE_LOCAL_ROOT: string = '.data/storage';

  @IsString()
  @MinLength(32, { message: 'STORAGE_SIGNING_SECRET must be at least 32 characters' })
  STORAGE_SIGNING_SECRET: string = DEV_STORAGE_SECRET;

  @ValidateIf((c: StorageConfig) => c.STORAGE_DRIVER === 's3')
  @IsString()
  @MinLength(3)
  S3_BUCKET: string;

  @IsString()
  S3_REGION: string = 'us-east-1';

  @IsOptional()
  @IsUrl({ require_tld: false })
  S3_ENDPOINT?: string;

  @EnvBoolean()
  S3_FORCE_PATH_STYLE: boolean = false;

  @IsOptional()
  @IsString()
  S3_ACCESS_KEY_ID?: string;

  @IsOptional()
  @IsString()
  S3_SECRET_ACCESS_KEY?: string;
}
