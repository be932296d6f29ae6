import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { Response } from 'express';

/**
 * Requests held by an injected timeout. Each is answered 504 after its delay, forgotten when the client goes
 * away, and cut (socket destroyed, as a dead upstream would) when the app stops, so shutdown never waits on them.
 */
@Injectable()
export class RequestHangsService implements BeforeApplicationShutdown {
  private readonly held = new Map<Response, NodeJS.Timeout>();

  hold(res: Response, ms: number): void {
    const timer = setTimeout(() => {
      this.held.delete(res);
      if (!res.headersSent) res.status(504).json({ detail: 'Gateway Timeout (injected fault)' });
    }, ms);
    this.held.set(res, timer);
    res.on('close', () => {
      clearTimeout(timer);
      this.held.delete(res);
    });
  }

  get count(): number {
    return this.held.size;
  }

  beforeApplicationShutdown(): void {
    for (const [res, timer] of this.held) {
      clearTimeout(timer);
      res.destroy();
    }
    this.held.clear();
  }
}
