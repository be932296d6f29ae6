import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '@app/auth';
import { DatabaseModule } from '@app/database';
import { JobsModule } from '@app/jobs';
import { StorageModule, storageOptionsFrom } from '@app/storage';
import type { ApiConfig } from './app.config';
import { API_CONFIG } from './app.tokens';
import { HealthController } from './health/health.controller';
import { JobsController } from './jobs/jobs.controller';
import { UploadFlowService } from './uploads/upload-flow.service';
import { UploadReceiverController } from './uploads/upload-receiver.controller';
import { UploadsController } from './uploads/uploads.controller';
import { WebhooksController } from './webhooks/webhooks.controller';

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
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
        StorageModule.forRoot(storageOptionsFrom(config)),
        TerminusModule,
      ],
      controllers: [UploadsController, UploadReceiverController, JobsController, WebhooksController, HealthController],
      providers: [{ provide: API_CONFIG, useValue: config }, UploadFlowService],
    };
  }
}
