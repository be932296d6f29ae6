import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { BreakerRegistry, CircuitBreakerModule, ServicePolicyOptions } from '@app/circuit-breaker';
import { DatabaseModule, pendingMigrations } from '@app/database';
import { EmbedderModule, embedderOptionsFrom } from '@app/embedder-client';
import { EmbeddingsModule } from '@app/embeddings';
import { RetentionService } from '@app/jobs';
import { BreakersHealthIndicator, DatabaseHealthIndicator, LoggingModule, MetricsModule } from '@app/observability';
import { ParserClientModule } from '@app/parser-client';
import { PipelineModule } from '@app/pipeline';
import { StorageModule, storageOptionsFrom } from '@app/storage';
import type { WorkerConfig } from './app.config';
import { WORKER_CONFIG } from './app.tokens';
import { HealthController } from './health/health.controller';
import { WorkerHealthIndicators } from './health/worker.health';
import { RETENTION_SCHEDULER_OPTIONS, RetentionScheduler, RetentionSchedulerOptions } from './retention.scheduler';
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
        CircuitBreakerModule.forRoot({
          services: { parser: policy(c.PARSER_TIMEOUT_MS), embedder: policy(c.EMBEDDER_TIMEOUT_MS) },
        }),
        ParserClientModule.forRoot({
          driver: 'llamaparse',
          baseUrl: c.LLAMAPARSE_BASE_URL,
          apiKey: c.LLAMAPARSE_API_KEY,
          timeoutMs: c.PARSER_TIMEOUT_MS,
        }),
        EmbedderModule.forRoot(embedderOptionsFrom(c)),
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
        DatabaseHealthIndicator.provider({ inject: DataSource, pendingMigrations, timeoutMs: 1500 }),
        BreakersHealthIndicator.provider({ inject: BreakerRegistry }),
      ],
    };
  }
}
