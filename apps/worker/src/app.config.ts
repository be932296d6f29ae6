import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
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

  /** The LlamaParse API the worker speaks: v2 (`/api/v2/parse`, webhooks signed LC-Signature) or v1 (`/api/v1/parsing`). */
  @IsIn(['v2', 'v1'])
  PARSER_API_VERSION: string = 'v2';

  /** LlamaParse's tier (v2 `tier`; v1 sends the matching `parse_mode`). */
  @IsIn(['fast', 'cost_effective', 'agentic', 'agentic_plus'])
  LLAMAPARSE_TIER: string = 'cost_effective';

  /** v2 `version` of the tier: `latest` or a dated version. */
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,50}$/, { message: 'LLAMAPARSE_VERSION must be `latest` or a version such as 2025-12-11 (1..50 of [A-Za-z0-9._-])' })
  LLAMAPARSE_VERSION: string = 'latest';

  /** Primary language of the documents for OCR (`en`, `fr`, `ch_sim`, ...); unset: the parser's default. */
  @IsOptional()
  @IsString()
  @Matches(/^[a-z]{2,3}(?:[_-][a-z0-9]{1,8})*$/i, { message: 'LLAMAPARSE_LANGUAGE must be a language code such as en, fr or ch_sim' })
  LLAMAPARSE_LANGUAGE?: string;

  /**
   * Base URL the parser calls back (the api): `${WEBHOOK_BASE_URL}/webhooks/llamaparse/:jobId`. With
   * NODE_ENV=production it must be https with a host name (LlamaParse refuses other webhook URLs).
   */
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

  /**
   * Time budget of one document's chunking, in a worker thread (waiting for a thread not counted); past it the
   * document is dead-lettered as `too_complex`. Chunking runs at about 1 MB of markdown a second.
   */
  @IsInt()
  @Min(100)
  CHUNK_TIMEOUT_MS: number = 120_000;

  /** Heap (V8 old generation) of a chunking thread; a document that needs more is dead-lettered as `too_large`. */
  @IsInt()
  @Min(16)
  @Max(16_384)
  CHUNK_MAX_MEMORY_MB: number = 1_024;

  /** Chunking worker threads at most; 0: all cores but one, at most WORKER_CONCURRENCY. */
  @IsInt()
  @Min(0)
  @Max(64)
  CHUNK_THREADS: number = 0;

  /** Parsed markdown up to this many bytes is chunked on the worker's own thread (fast, no copy); larger goes to the threads. */
  @IsInt()
  @Min(0)
  @Max(64 * 1024 * 1024)
  CHUNK_INLINE_MAX_BYTES: number = 64 * 1024;

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

  /** How often a worker runs the upload reconciler (checks the uploads due for a check; 0 = never). */
  @IsInt()
  @Min(0)
  UPLOAD_RECONCILE_INTERVAL_MS: number = 5_000;

  /** Uploads one reconciler run checks at most. */
  @IsInt()
  @Min(1)
  @Max(10_000)
  UPLOAD_RECONCILE_BATCH: number = 100;

  /** An upload still missing is checked again after at least this long (the delay grows with its age, half of it). */
  @IsInt()
  @Min(100)
  UPLOAD_CHECK_MIN_DELAY_MS: number = 5_000;

  /** ... and at most this long. */
  @IsInt()
  @Min(100)
  UPLOAD_CHECK_MAX_DELAY_MS: number = 300_000;

  /** An upload whose bytes did not arrive within its URL's lifetime plus this is dead-lettered as upload_expired. */
  @IsInt()
  @Min(0)
  UPLOAD_EXPIRY_GRACE_MS: number = 600_000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** `auto`: pretty on a terminal outside production, JSON lines otherwise. */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: string = 'auto';
}

/**
 * Why `url` cannot be LlamaParse's webhook URL in production (it wants https and a host name: no IP address, no
 * localhost), or undefined when it can.
 */
/** The URL's host is a public host name (not localhost, an IP address or a bare name such as a compose service). */
export function isPublicHost(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
    return !(host === 'localhost' || host.endsWith('.localhost') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':') || !host.includes('.'));
  } catch {
    return false;
  }
}

export function productionWebhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (u.protocol !== 'https:') return 'it is not https';
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return 'its host is localhost';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':')) return 'its host is an IP address';
  if (!host.includes('.')) return 'its host is not a public host name';
  return undefined;
}

/**
 * The lease must outlive several renewals, or a slow database would make jobs change hands. In production, with a
 * parser out there (a public LLAMAPARSE_BASE_URL), the webhook URL must be one LlamaParse calls.
 */
export function assertConsistent(c: WorkerConfig): void {
  // only a parser out there (LlamaCloud) has to reach the api from outside; the mock beside the api calls it on the
  // internal network (docker-compose, the benchmark), which production mode must keep working
  const remoteParser = isPublicHost(c.LLAMAPARSE_BASE_URL);
  const webhookProblem = c.NODE_ENV === 'production' && remoteParser ? productionWebhookUrlProblem(c.WEBHOOK_BASE_URL) : undefined;
  if (webhookProblem) {
    throw new Error(
      `Invalid configuration for worker: WEBHOOK_BASE_URL (${c.WEBHOOK_BASE_URL}) must be an https URL with a public host name ` +
        `with NODE_ENV=production (${webhookProblem}); LlamaParse calls the api back there, e.g. https://ingest.example.com`,
    );
  }
  if (c.LEASE_RENEW_MS * 2 > c.LEASE_MS) {
    throw new Error(`Invalid configuration for worker: LEASE_RENEW_MS (${c.LEASE_RENEW_MS}) must be at most half of LEASE_MS (${c.LEASE_MS})`);
  }
}
