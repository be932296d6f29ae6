import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { IsIn, IsInt, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
import { EnvBoolean, StorageConfig } from '@app/config';

/**
 * Every variable the worker reads, validated once before the app is built. The database
 * (DATABASE_URL, DB_MIGRATE_ON_START) and storage (PUBLIC_BASE_URL, STORAGE_*, S3_*) settings
 * come from the shared {@link StorageConfig} (which extends DatabaseConfig), as the api's do:
 * both must point at the same database and the same storage.
 */
export class WorkerConfig extends StorageConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: string = 'development';

  /** Health and metrics only; several workers on one host each need their own (0 = any free port). */
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_PORT: number = 8003;

  @IsString()
  WORKER_HOST: string = '0.0.0.0';

  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'WORKER_ID must be 1..100 of [A-Za-z0-9._:-]' })
  WORKER_ID: string = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  // the database's other settings: DatabaseConfig (this app's pool has its own default and range)
  @IsInt()
  @Min(2)
  @Max(200)
  DB_POOL_SIZE: number = 20;

  // parser
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  LLAMAPARSE_BASE_URL: string = 'http://127.0.0.1:8001';

  @IsString()
  LLAMAPARSE_API_KEY: string = 'dev-llamaparse-key';

  @IsInt()
  @Min(100)
  PARSER_TIMEOUT_MS: number = 30_000;

  /** Base URL the parser calls back (the api): `${WEBHOOK_BASE_URL}/webhooks/llamaparse/:jobId`. */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  WEBHOOK_BASE_URL: string = 'http://127.0.0.1:8000';

  @IsInt()
  @Min(100)
  WEBHOOK_TIMEOUT_MS: number = 30_000;

  @IsInt()
  @Min(50)
  PARSER_POLL_INTERVAL_MS: number = 2_000;

  // embedder
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  OPENAI_BASE_URL: string = 'http://127.0.0.1:8002/v1';

  @IsString()
  OPENAI_API_KEY: string = 'dev-openai-key';

  @IsString()
  EMBEDDING_MODEL: string = 'text-embedding-3-small';

  @IsInt()
  @Min(1)
  @Max(16000)
  EMBEDDING_DIMENSIONS: number = 1536;

  @IsInt()
  @Min(1)
  EMBEDDING_VERSION: number = 1;

  /** Run the re-embedding loop here (fills in a model being built, switches search over, deletes retired rows). */
  @EnvBoolean()
  REEMBED_ENABLED: boolean = true;

  /** Chunks per re-embedding batch (one transaction; split into provider requests within its limits). */
  @IsInt()
  @Min(1)
  @Max(2048)
  REEMBED_BATCH_SIZE: number = 256;

  /** Pause of the re-embedding loop when there is nothing to do. */
  @IsInt()
  @Min(50)
  REEMBED_IDLE_MS: number = 2_000;

  /** Token-rate budget of this worker (tokens per minute); 0 = none. */
  @IsInt()
  @Min(0)
  EMBEDDER_TPM: number = 0;

  @IsInt()
  @Min(100)
  EMBEDDER_TIMEOUT_MS: number = 30_000;

  // circuit breakers (per outside service)
  @IsInt()
  @Min(1)
  BREAKER_THRESHOLD: number = 5;

  @IsInt()
  @Min(100)
  BREAKER_HALF_OPEN_MS: number = 10_000;

  @IsInt()
  @Min(1)
  @Max(10)
  CALL_MAX_ATTEMPTS: number = 3;

  // the loop
  @IsInt()
  @Min(1)
  @Max(256)
  WORKER_CONCURRENCY: number = 16;

  /** Jobs claimed ahead while every slot is busy, so a slot that frees starts its next job without a claim round trip. */
  @IsInt()
  @Min(0)
  @Max(256)
  WORKER_PREFETCH: number = 1;

  @IsInt()
  @Min(1)
  @Max(256)
  WORKER_CLAIM_BATCH: number = 16;

  @IsInt()
  @Min(1000)
  LEASE_MS: number = 30_000;

  @IsInt()
  @Min(100)
  LEASE_RENEW_MS: number = 10_000;

  @IsInt()
  @Min(50)
  POLL_INTERVAL_MS: number = 1_000;

  @IsInt()
  @Min(1)
  @Max(100)
  JOB_MAX_ATTEMPTS: number = 6;

  @IsInt()
  @Min(1)
  RETRY_BASE_MS: number = 1_000;

  @IsInt()
  @Min(1)
  RETRY_MAX_MS: number = 300_000;

  @IsInt()
  @Min(16)
  @Max(8191)
  CHUNK_MAX_TOKENS: number = 512;

  @IsInt()
  @Min(0)
  @Max(64)
  CHUNK_OVERLAP_TOKENS: number = 0;

  @IsInt()
  @Min(1)
  UPLOAD_MAX_BYTES: number = 25 * 1024 * 1024;

  @IsInt()
  @Min(0)
  SHUTDOWN_GRACE_MS: number = 20_000;

  // retention (docs/operations.md, "Retention"): one worker at a time prunes, under an advisory lock
  /** Events of jobs done or dead-lettered at least this long ago, older than this, are deleted; 0 = kept for ever. */
  @IsInt()
  @Min(0)
  @Max(36500)
  RETENTION_EVENTS_DAYS: number = 30;

  /** webhook_log rows (replay protection) of finished jobs older than this are deleted; 0 = kept for ever. */
  @IsInt()
  @Min(0)
  @Max(36500)
  RETENTION_WEBHOOK_LOG_DAYS: number = 7;

  /** How often a worker tries a retention run (skipped while another worker runs one). */
  @IsInt()
  @Min(1000)
  RETENTION_INTERVAL_MS: number = 600_000;

  /** Rows a retention statement reads and at most deletes (each statement its own short transaction). */
  @IsInt()
  @Min(1)
  @Max(100_000)
  RETENTION_BATCH: number = 1000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** `auto`: pretty on a terminal outside production, JSON lines otherwise. */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: string = 'auto';
}

/** The lease must outlive several renewals, or a slow database would make jobs change hands. */
export function assertConsistent(c: WorkerConfig): void {
  if (c.LEASE_RENEW_MS * 2 > c.LEASE_MS) {
    throw new Error(`Invalid configuration for worker: LEASE_RENEW_MS (${c.LEASE_RENEW_MS}) must be at most half of LEASE_MS (${c.LEASE_MS})`);
  }
}
