import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { BreakerRegistry } from '@app/circuit-breaker';
import { WorkerLoopService } from '@app/pipeline';

/** The loop is alive (polled recently, renewing leases) and the outside services' breakers are not open. */
@Injectable()
export class WorkerHealthIndicators {
  private readonly health = new HealthIndicatorService();

  constructor(
    private readonly loop: WorkerLoopService,
    private readonly breakers: BreakerRegistry,
  ) {}

  loopHeartbeat(key: string, maxSilenceMs: number) {
    const s = this.loop.status();
    const check = this.health.check(key);
    const age = s.lastPollAt ? Date.now() - s.lastPollAt.getTime() : null;
    const leaseAge = s.lastLeaseRenewalAt ? Date.now() - s.lastLeaseRenewalAt.getTime() : null;
    const detail = {
      running: s.running,
      stopping: s.stopping,
      in_flight: s.inFlight,
      concurrency: s.concurrency,
      listening: s.listening,
      last_poll_ms_ago: age,
      last_lease_renewal_ms_ago: leaseAge,
      lease_renewal_error: s.lastLeaseRenewalError,
    };
    if (!s.running || age === null || age > maxSilenceMs || s.lastLeaseRenewalError) return check.down(detail);
    return check.up(detail);
  }

  breakersClosed(key: string) {
    const check = this.health.check(key);
    const states = this.breakers.states();
    const detail = Object.fromEntries(states.map((b) => [b.name, { state: b.state, failures: b.failures }]));
    return states.some((b) => b.state === 'open' || b.state === 'isolated') ? check.down(detail) : check.up(detail);
  }
}
