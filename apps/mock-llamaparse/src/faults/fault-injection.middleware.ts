import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { FaultConfigService } from './fault-config.service';
import { RequestHangsService } from './request-hangs.service';
import { StatsService } from './stats.service';

/** Applies the configured request faults (timeout, 500/503, 429) before a /api/v1 request reaches auth or parsing. */
@Injectable()
export class FaultInjectionMiddleware implements NestMiddleware {
  constructor(
    private readonly faults: FaultConfigService,
    private readonly hangs: RequestHangsService,
    private readonly stats: StatsService,
  ) {}

  use(_req: Request, res: Response, next: NextFunction): void {
    const fault = this.faults.nextRequestFault();
    switch (fault.kind) {
      case 'none':
        return next();
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
}
