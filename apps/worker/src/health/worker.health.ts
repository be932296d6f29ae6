import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { WorkerLoopService } from '@app/pipeline';

/** The loop is alive: it polled recently and its last lease renewal went through. */
@Injectable()
export class WorkerHealthIndicators {
  private readonly health = new HealthIndicatorService();

  constructor(private readonly loop: WorkerLoopService) {}

  loopHeartbeat(key: string, maxSilenceMs: number) {
    const s = this.loop.status();
    const check = this.health.check(key);
    const age = s.lastPollAt ? Date.now() - s.lastPollAt.getTime() : null;
    const leaseAge = s.lastLeaseRenewalAt ? Date.now() - s.lastLeaseRenewalAt.getTime() : null;
    const detail = {
      running: s.running,
      stopping: s.stopping,
      in_flight: s.inFlight,
      queued: s.queued,
      concurrency: s.concurrency,
      prefetch: s.prefetch,
      listening: s.listening,
      last_poll_ms_ago: age,
      last_lease_renewal_ms_ago: leaseAge,
      lease_renewal_error: s.lastLeaseRenewalError,
    };
    if (!s.running || age === null || age > maxSilenceMs || s.lastLeaseRenewalError) return check.down(detail);
    return check.up(detail);
  }

}
