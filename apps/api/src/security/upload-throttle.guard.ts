import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { setUploadHit, UploadThrottle } from './upload-throttle';

/**
 * Puts the upload throttle on a route (with UploadThrottleFilter): gives the request its hit, which the handler counts
 * in its upload statement (`uploadHitOf(req)`). Route guards run after the global JwtAuthGuard, so the hit is the
 * verified user's: a forged token never spends someone else's budget. Nothing is counted here (no round trip of its
 * own).
 */
@Injectable()
export class UploadThrottleGuard implements CanActivate {
  constructor(private readonly throttle: UploadThrottle) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    setUploadHit(req, this.throttle.newHit(req));
    return true;
  }
}
