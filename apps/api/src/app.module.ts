import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '@app/auth';
import { DatabaseModule } from '@app/database';
import { JobsModule } from '@app/jobs';
import { StorageModule, StorageOptions } from '@app/storage';
import type { ApiConfig } from './app.config';
import { API_CONFIG } from './app.tokens';
import { HealthController } from './health/health.controller';
import { JobsController } from './jobs/jobs.controller';
import { UploadFlowService } from './uploads/upload-flow.service';
import { UploadReceiverController } from './uploads/upload-receiver.controller';
import { UploadsController } from './uploads/uploads.controller';

export function storageOptionsFrom(c: ApiConfig): StorageOptions {
  return c.STORAGE_DRIVER === 's3'
    ? {
        driver: 's3',
        bucket: c.S3_BUCKET,
        region: c.S3_REGION,
        endpoint: c.S3_ENDPOINT,
        forcePathStyle: c.S3_FORCE_PATH_STYLE,
        accessKeyId: c.S3_ACCESS_KEY_ID,
        secretAccessKey: c.S3_SECRET_ACCESS_KEY,
      }
    : { driver: 'local', root: c.STORAGE_LOCAL_ROOT, publicBaseUrl: c.PUBLIC_BASE_URL, signingSecret: c.STORAGE_SIGNING_SECRET };
}

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
      controllers: [UploadsController, UploadReceiverController, JobsController, HealthController],
      providers: [{ provide: API_CONFIG, useValue: config }, UploadFlowService],
    };
  }
}
