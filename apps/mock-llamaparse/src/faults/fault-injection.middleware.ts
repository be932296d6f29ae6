import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { FaultConfigService } from './fault-config.service';
import { RequestHangsService } from './request-hangs.service';
import { StatsService } from './stats.service';

/**
 * Applies the configured request faults (timeout, 500/503, 429) before a parsing request (v1 and v2) reaches auth
 * or parsing; then, on an upload, the upload faults (402 out of credits, 429 without `retry-after`).
 */
@Injectable()
export class FaultInjectionMiddleware implements NestMiddleware {
  constructor(
    private readonly faults: FaultConfigService,
    private readonly hangs: RequestHangsService,
    private readonly stats: StatsService,
  ) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const fault = this.faults.nextRequestFault();
    switch (fault.kind) {
      case 'none':
        return req.method === 'POST' && /\/upload\/?$/.test(req.path) ? this.uploadFault(res, next) : next();
      case 'timeout':
        this.stats.fault('timeout');
        return this.hangs.hold(res, fault.ms);
      case 'error':
        this.stats.fault(fault.status === 500 ? 'http500' : 'http503');
        res
          .status(fault.status)
          .json({ detail: fault.status === 500 ? 'Internal Server Error (injected fault)' : 'Service Unavailable (injected fault)' });
        return;
      case 'rateLimit':
        this.stats.fault('http429');
        res
          .status(429)
          .setHeader('retry-after', String(fault.retryAfterSeconds))
          .json({ detail: 'Too Many Requests (injected fault)' });
        return;
    }
  }

  private uploadFault(res: Response, next: NextFunction): void {
    const fault = this.faults.nextUploadFault();
    switch (fault.kind) {
      case 'none':
        return next();
      case 'quota':
        this.stats.fault('http402');
        res.status(402).json({ detail: 'Insufficient credits: your plan has run out of credits (injected fault)' });
        return;
      case 'uploadRateLimit':
        this.stats.fault('http429');
        res.status(429).json({ detail: 'Rate limit exceeded for uploads (injected fault)' });
        return;
    }
  }
}
