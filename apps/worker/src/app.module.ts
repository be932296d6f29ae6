import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { BreakerRegistry, CircuitBreakerModule, ServicePolicyOptions } from '@app/circuit-breaker';
import { DatabaseModule, pendingMigrations } from '@app/database';
import { EmbedderModule, embedderOptionsFrom } from '@app/embedder-client';
import { EmbeddingsModule } from '@app/embeddings';
import { RateLimitStore, RetentionService, UploadConfirmationModule } from '@app/jobs';
import { BreakersHealthIndicator, DatabaseHealthIndicator, LoggingModule, MetricsModule } from '@app/observability';
import { LlamaParseTier, ParserApiVersion, ParserClientModule } from '@app/parser-client';
import { PipelineModule } from '@app/pipeline';
import { StorageModule, storageOptionsFrom } from '@app/storage';
import type { WorkerConfig } from './app.config';
import { WORKER_CONFIG } from './app.tokens';
import { HealthController } from './health/health.controller';
import { WorkerHealthIndicators } from './health/worker.health';
import { RETENTION_SCHEDULER_OPTIONS, RetentionScheduler, RetentionSchedulerOptions } from './retention.scheduler';
import { UPLOAD_RECONCILER_OPTIONS, UploadReconcilerOptions, UploadReconcilerScheduler } from './upload-reconciler.scheduler';
import { WorkerMetricsBinding } from './worker-metrics.binding';

@Module({})
export class WorkerModule {
  static forRoot(c: WorkerConfig, opts: { prettyLogs?: boolean } = {}): DynamicModule {
    const policy = (timeoutMs: number): ServicePolicyOptions => ({
      timeoutMs,
      maxAttempts: c.CALL_MAX_ATTEMPTS,
      breaker: { kind: 'consecutive', threshold: c.BREAKER_THRESHOLD },
      halfOpenAfterMs: c.BREAKER_HALF_OPEN_MS,
    });
    return {
      module: WorkerModule,
      imports: [
        DatabaseModule.forRoot({
          url: c.DATABASE_URL,
          poolSize: c.DB_POOL_SIZE,
          migrateOnStart: c.DB_MIGRATE_ON_START,
          embeddingDimensions: c.EMBEDDING_DIMENSIONS,
          applicationName: `ingest-worker:${c.WORKER_ID}`,
        }),
        StorageModule.forRoot(storageOptionsFrom(c)),
        UploadConfirmationModule.forRoot({ graceMs: c.UPLOAD_EXPIRY_GRACE_MS }),
        CircuitBreakerModule.forRoot({
          services: {
            parser: policy(c.PARSER_TIMEOUT_MS),
            embedder: policy(c.EMBEDDER_TIMEOUT_MS),
            // a remote store has a breaker of its own (the local disk has none)
            ...(c.STORAGE_DRIVER === 's3' ? { storage: policy(30_000) } : {}),
          },
        }),
        ParserClientModule.forRoot({
          driver: 'llamaparse',
          apiVersion: c.PARSER_API_VERSION as ParserApiVersion,
          baseUrl: c.LLAMAPARSE_BASE_URL,
          apiKey: c.LLAMAPARSE_API_KEY,
          timeoutMs: c.PARSER_TIMEOUT_MS,
          parse: { tier: c.LLAMAPARSE_TIER as LlamaParseTier, version: c.LLAMAPARSE_VERSION, language: c.LLAMAPARSE_LANGUAGE },
        }),
        // each job runs inside its correlation id: the embedder's breaker counts one document's failures once
        EmbedderModule.forRoot({ ...embedderOptionsFrom(c), inputKeyFromCorrelation: true }),
        EmbeddingsModule.forRoot({
          configured: { model: c.EMBEDDING_MODEL, version: c.EMBEDDING_VERSION, dimensions: c.EMBEDDING_DIMENSIONS },
          loop: { enabled: c.REEMBED_ENABLED, batchSize: c.REEMBED_BATCH_SIZE, idleMs: c.REEMBED_IDLE_MS },
          inUseCacheMs: 1_000,
        }),
        PipelineModule.forRoot({
          databaseUrl: c.DATABASE_URL,
          workerId: c.WORKER_ID,
          concurrency: c.WORKER_CONCURRENCY,
          prefetch: c.WORKER_PREFETCH,
          claimBatch: c.WORKER_CLAIM_BATCH,
          leaseMs: c.LEASE_MS,
          leaseRenewMs: c.LEASE_RENEW_MS,
          pollIntervalMs: c.POLL_INTERVAL_MS,
          webhookBaseUrl: c.WEBHOOK_BASE_URL,
          webhookTimeoutMs: c.WEBHOOK_TIMEOUT_MS,
          parserPollIntervalMs: c.PARSER_POLL_INTERVAL_MS,
          retryPolicy: { maxAttempts: c.JOB_MAX_ATTEMPTS, baseDelayMs: c.RETRY_BASE_MS, maxDelayMs: c.RETRY_MAX_MS },
          chunker: { name: 'md-token', version: 1, maxTokens: c.CHUNK_MAX_TOKENS, overlapTokens: c.CHUNK_OVERLAP_TOKENS },
          chunkTimeoutMs: c.CHUNK_TIMEOUT_MS,
          chunkMaxMemoryMb: c.CHUNK_MAX_MEMORY_MB,
          chunkThreads: c.CHUNK_THREADS || undefined,
          chunkInlineMaxBytes: c.CHUNK_INLINE_MAX_BYTES,
          maxDocumentBytes: c.UPLOAD_MAX_BYTES,
          shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
        }),
        TerminusModule,
        LoggingModule.forRoot({ app: 'worker', level: c.LOG_LEVEL, pretty: opts.prettyLogs }),
        MetricsModule.forRoot({ app: 'worker' }),
      ],
      controllers: [HealthController],
      providers: [
        { provide: WORKER_CONFIG, useValue: c },
        WorkerHealthIndicators,
        WorkerMetricsBinding,
        RetentionService,
        RateLimitStore,
        RetentionScheduler,
        {
          provide: RETENTION_SCHEDULER_OPTIONS,
          useValue: {
            eventsDays: c.RETENTION_EVENTS_DAYS,
            webhookLogDays: c.RETENTION_WEBHOOK_LOG_DAYS,
            intervalMs: c.RETENTION_INTERVAL_MS,
            batchSize: c.RETENTION_BATCH,
          } satisfies RetentionSchedulerOptions,
        },
        UploadReconcilerScheduler,
        {
          provide: UPLOAD_RECONCILER_OPTIONS,
          useValue: {
            intervalMs: c.UPLOAD_RECONCILE_INTERVAL_MS,
            batchSize: c.UPLOAD_RECONCILE_BATCH,
            minDelayMs: c.UPLOAD_CHECK_MIN_DELAY_MS,
            maxDelayMs: c.UPLOAD_CHECK_MAX_DELAY_MS,
          } satisfies UploadReconcilerOptions,
        },
        DatabaseHealthIndicator.provider({ inject: DataSource, pendingMigrations, timeoutMs: 1500 }),
        BreakersHealthIndicator.provider({ inject: BreakerRegistry }),
      ],
    };
  }
}
