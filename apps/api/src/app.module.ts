import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { AuthModule, Public } from '@app/auth';
import { DatabaseModule, pendingMigrations } from '@app/database';
import { JobsModule, UploadConfirmationModule } from '@app/jobs';
import { DatabaseHealthIndicator, LoggingModule, LoggingModuleOptions, MetricsModule } from '@app/observability';
import { StorageModule, storageOptionsFrom } from '@app/storage';
import type { ApiConfig } from './app.config';
import { API_CONFIG } from './app.tokens';
import { DocumentsApiModule } from './documents/documents-api.module';
import { HealthController } from './health/health.controller';
import { JobsController } from './jobs/jobs.controller';
import { SearchApiModule } from './search/search-api.module';
import { EmbeddingsApiModule } from './embeddings/embeddings-api.module';
import { UploadThrottleModule } from './security/upload-throttle.module';
import { StorageEventsController } from './storage-events/storage-events.controller';
import { UploadFlowService } from './uploads/upload-flow.service';
import { UploadReceiverController } from './uploads/upload-receiver.controller';
import { UploadsController } from './uploads/uploads.controller';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebController } from './web/web.controller';

@Module({})
export class AppModule {
  static forRoot(
    config: ApiConfig,
    opts: { prettyLogs?: boolean; logDestination?: LoggingModuleOptions['destination'] } = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          poolSize: config.DB_POOL_SIZE,
          migrateOnStart: config.DB_MIGRATE_ON_START,
          embeddingDimensions: config.EMBEDDING_DIMENSIONS,
          applicationName: 'ingest-api',
        }),
        JobsModule,
        AuthModule.forRoot({ jwtSecret: config.JWT_SECRET, audience: config.JWT_AUDIENCE, globalGuard: true }),
        UploadThrottleModule.forRoot({ limit: config.UPLOAD_RATE_LIMIT, windowSec: config.UPLOAD_RATE_WINDOW_SEC }),
        StorageModule.forRoot(storageOptionsFrom(config)),
        UploadConfirmationModule.forRoot({ graceMs: config.UPLOAD_EXPIRY_GRACE_MS }),
        DocumentsApiModule,
        EmbeddingsApiModule.forRoot(config),
        SearchApiModule,
        TerminusModule,
        LoggingModule.forRoot({ app: 'api', level: config.LOG_LEVEL, pretty: opts.prettyLogs, destination: opts.logDestination }),
        MetricsModule.forRoot({ app: 'api', controllerDecorators: [Public(), ApiExcludeController()] }),
      ],
      controllers: [
        UploadsController,
        UploadReceiverController,
        JobsController,
        WebhooksController,
        HealthController,
        WebController,
        StorageEventsController,
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        UploadFlowService,
        DatabaseHealthIndicator.provider({ inject: DataSource, pendingMigrations, timeoutMs: 1500 }),
      ],
    };
  }
}
