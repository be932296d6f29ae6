import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
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
 * Counters live in this process's memory (each api instance limits on its own).
 */
@Module({})
export class UploadThrottleModule {
  static forRoot(o: UploadThrottleOptions): DynamicModule {
    return {
      module: UploadThrottleModule,
      imports: [ThrottlerModule.forRoot([{ ttl: o.windowSec * 1000, limit: o.limit }])],
      providers: [{ provide: APP_GUARD, useClass: UploadThrottleGuard }],
    };
  }
}
