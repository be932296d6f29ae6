import { DynamicModule, Module } from '@nestjs/common';
import { RateLimitStore } from '@app/jobs';
import { UPLOAD_THROTTLE_OPTIONS, UploadThrottle, UploadThrottleOptions } from './upload-throttle';
import { UploadThrottleFilter } from './upload-throttle.filter';
import { UploadThrottleGuard } from './upload-throttle.guard';

/**
 * The upload throttle (UploadThrottle) with the guard and filter the upload route uses. Counters live in PostgreSQL
 * (needs DatabaseModule, global in the app), so several api processes share one limit per user.
 */
@Module({})
export class UploadThrottleModule {
  static forRoot(o: UploadThrottleOptions): DynamicModule {
    return {
      module: UploadThrottleModule,
      global: true,
      providers: [{ provide: UPLOAD_THROTTLE_OPTIONS, useValue: o }, RateLimitStore, UploadThrottle, UploadThrottleGuard, UploadThrottleFilter],
      exports: [UploadThrottle, UploadThrottleGuard, UploadThrottleFilter],
    };
  }
}
