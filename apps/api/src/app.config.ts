import { availableParallelism } from 'node:os';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Length, Max, Min, MinLength } from 'class-validator';
import { DEV_STORAGE_SECRET, EnvBoolean, StorageConfig } from '@app/config';

/** Largest API_PROCESSES (each process holds its own DB_POOL_SIZE connections). */
export const MAX_API_PROCESSES = 64;

export const DEV_JWT_SECRET = 'dev-secret-change-me-0123456789abcdef';
export { DEV_STORAGE_SECRET }; // declared with STORAGE_SIGNING_SECRET in StorageConfig

/**
 * Every variable the api reads, validated once before the app is built. The database
 * (DATABASE_URL, DB_MIGRATE_ON_START) and storage (PUBLIC_BASE_URL, STORAGE_*, S3_*) settings
 * come from the shared {@link StorageConfig} (which extends DatabaseConfig), as the worker's do.
 */
export class ApiConfig extends StorageConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: string = 'development';

  @IsInt()
  @Min(1)
  @Max(65535)
  API_PORT: number = 8000;

  @IsString()
  API_HOST: string = '0.0.0.0';

  /**
   * Processes serving API_HOST:API_PORT. 1: this process serves (no cluster). More: this process is a node:cluster
   * primary that forks them and restarts any that dies; `GET /metrics` reports their sum. `auto`: one a core
   * (os.availableParallelism(), at most {@link MAX_API_PROCESSES}).
   */
  @Transform(({ obj, key, value }: { obj: Record<string, unknown>; key: string; value: unknown }) => {
    // the raw string: implicit conversion has already made `auto` NaN
    const raw = obj[key];
    return typeof raw === 'string' && raw.trim().toLowerCase() === 'auto' ? Math.min(availableParallelism(), MAX_API_PROCESSES) : value;
  })
  @IsInt({ message: 'API_PROCESSES must be a whole number >= 1, or auto (one a core)' })
  @Min(1)
  @Max(MAX_API_PROCESSES)
  API_PROCESSES: number = 1;

  // the database's other settings: DatabaseConfig (this app's pool has its own default and range)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE: number = 10;

  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters (HS256 key)' })
  JWT_SECRET: string = DEV_JWT_SECRET;

  @IsString()
  JWT_AUDIENCE: string = 'authenticated';

  /** Largest document a user may upload (bytes). Default 25 MiB. */
  @IsInt()
  @Min(1)
  UPLOAD_MAX_BYTES: number = 25 * 1024 * 1024;

  @IsInt()
  @Min(30)
  @Max(7 * 24 * 3600)
  UPLOAD_URL_TTL_SEC: number = 900;

  /** `POST /api/v2/upload` requests a user (JWT sub; the client IP without one) may make per window; more -> 429. */
  @IsInt()
  @Min(1)
  UPLOAD_RATE_LIMIT: number = 120;

  /** Length of the upload rate-limit window, in seconds. */
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  UPLOAD_RATE_WINDOW_SEC: number = 60;

  /**
   * Shared secret of `POST /api/v2/storage/events` (S3/MinIO bucket notifications, `Authorization: Bearer <token>`);
   * unset: the endpoint is off (404).
   */
  @IsOptional()
  @IsString()
  @MinLength(16)
  STORAGE_EVENTS_TOKEN?: string;

  /**
   * LlamaParse's real v1 service signs no webhook. With this on, an unsigned delivery (no signature header at all)
   * is taken as a hint only: its body is not read or logged, and a job waiting for its parse is woken to ask the
   * parser for the job's status (202). Off (the default): unsigned deliveries are 401 and such jobs learn their
   * outcome by the worker's poll after WEBHOOK_TIMEOUT_MS. A wrong signature is 401 either way.
   */
  @EnvBoolean()
  WEBHOOK_ACCEPT_UNSIGNED: boolean = false;

  /** An upload whose bytes did not arrive within its URL's lifetime plus this is dead-lettered as upload_expired. */
  @IsInt()
  @Min(0)
  UPLOAD_EXPIRY_GRACE_MS: number = 600_000;

  /** Tokens whose `role` claim is this may manage embedding models (re-embedding). */
  @IsString()
  @Length(1, 100)
  ADMIN_ROLE: string = 'service_role';

  @IsString()
  EMBEDDING_MODEL: string = 'text-embedding-3-small';

  @IsInt()
  @Min(1)
  EMBEDDING_VERSION: number = 1;

  @IsInt()
  @Min(1)
  @Max(16000)
  EMBEDDING_DIMENSIONS: number = 1536;

  // embedder (search embeds the query with the worker's model): the same settings as the worker
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  OPENAI_BASE_URL: string = 'http://127.0.0.1:8002/v1';

  @IsString()
  OPENAI_API_KEY: string = 'dev-openai-key';

  @IsInt()
  @Min(100)
  EMBEDDER_TIMEOUT_MS: number = 30_000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** `auto`: pretty on a terminal outside production, JSON lines otherwise. */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: string = 'auto';
}

/** Refuses development secrets in production. */
export function assertProductionSafe(c: ApiConfig): void {
  if (c.NODE_ENV !== 'production') return;
  const bad = [
    c.JWT_SECRET === DEV_JWT_SECRET ? 'JWT_SECRET' : null,
    c.STORAGE_SIGNING_SECRET === DEV_STORAGE_SECRET ? 'STORAGE_SIGNING_SECRET' : null,
  ].filter(Boolean);
  if (bad.length) throw new Error(`Invalid configuration for api: ${bad.join(', ')} must be set in production (development default in use)`);
}
