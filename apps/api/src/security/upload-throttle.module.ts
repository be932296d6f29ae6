import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { RateLimitStore } from '@app/jobs';
import { PgThrottlerStorage } from './pg-throttler.storage';
import { UploadThrottleGuard } from './upload-throttle.guard';

export interface UploadThrottleOptions {
  /** Uploads a user may start per window (UPLOAD_RATE_LIMIT). */
  limit: number;
  /** Window length in seconds (UPLOAD_RATE_WINDOW_SEC). */
  windowSec: number;
}

/**
 * Registers UploadThrottleGuard as a global guard. Import it AFTER AuthModule: global guards run in the
 * order their modules are scanned, and the guard counts per verified user, which JwtAuthGuard sets.
 * Counters live in PostgreSQL (PgThrottlerStorage), so several api processes share one limit per user.
 */
/** The counters' store for the throttler's factory (needs DatabaseModule, global in the app). */
@Module({ providers: [RateLimitStore, PgThrottlerStorage], exports: [PgThrottlerStorage] })
class CountersModule {}

@Module({})
export class UploadThrottleModule {
  static forRoot(o: UploadThrottleOptions): DynamicModule {
    return {
      module: UploadThrottleModule,
      imports: [
        ThrottlerModule.forRootAsync({
          imports: [CountersModule],
          inject: [PgThrottlerStorage],
          useFactory: (storage: PgThrottlerStorage) => ({ throttlers: [{ ttl: o.windowSec * 1000, limit: o.limit }], storage }),
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: UploadThrottleGuard }],
    };
  }
}
