import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { AuthUser } from '@app/auth';
import { ApiError } from '@app/http';
import { UploadsController } from '../uploads/uploads.controller';

/**
 * Rate limit of `POST /api/v2/upload` (every other route passes untouched), counted per user: the
 * verified JWT `sub` that JwtAuthGuard put on the request, the client IP when there is none. Runs after
 * JwtAuthGuard (see UploadThrottleModule), so a forged token never spends someone else's budget.
 * Over the limit: 429 `rate_limited` in the common error shape with a `Retry-After` header (seconds).
 */
@Injectable()
export class UploadThrottleGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return (
      context.getType() !== 'http' ||
      context.getClass() !== UploadsController ||
      context.getHandler() !== UploadsController.prototype.create
    );
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req['user'] as AuthUser | undefined;
    if (user?.userId) return `user:${user.userId}`;
    return `ip:${typeof req['ip'] === 'string' ? req['ip'] : 'unknown'}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, d: ThrottlerLimitDetail): Promise<void> {
    const windowSec = Math.round(d.ttl / 1000);
    throw new ApiError(
      429,
      'rate_limited',
      `Too many uploads: at most ${d.limit} every ${windowSec} s; retry after ${d.timeToBlockExpire} s`,
      { limit: d.limit, window_sec: windowSec, retry_after_sec: d.timeToBlockExpire },
    );
  }
}
