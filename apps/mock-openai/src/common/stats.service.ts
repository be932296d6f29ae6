import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { Outcome } from './openai-error';

export interface StatsSnapshot {
  since: string;
  requests: {
    /** Embeddings requests that arrived (counted before any injected latency or fault: in flight until answered). */
    received: number;
    total: number;
    byOutcome: Partial<Record<Outcome, number>>;
    byStatus: Record<string, number>;
  };
  served: { requests: number; inputs: number; tokens: number };
}

/** Counts /v1 responses by outcome and status, and what the embeddings endpoint served (resettable; also fed to /metrics). */
@Injectable()
export class StatsService {
  private since = new Date();
  private total = 0;
  private received = 0;
  private byOutcome: Partial<Record<Outcome, number>> = {};
  private byStatus: Record<string, number> = {};
  private served = { requests: 0, inputs: 0, tokens: 0 };

  constructor(private readonly metrics: MetricsService) {}

  recordReceived(): void {
    this.received++;
  }

  recordResponse(status: number, outcome: Outcome): void {
    this.total++;
    this.byOutcome[outcome] = (this.byOutcome[outcome] ?? 0) + 1;
    const key = outcome === 'client_closed' ? 'closed' : String(status);
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    this.metrics.response(outcome, key);
  }

  recordServed(inputs: number, tokens: number): void {
    this.served.requests++;
    this.served.inputs += inputs;
    this.served.tokens += tokens;
    this.metrics.served(inputs, tokens);
  }

  snapshot(): StatsSnapshot {
    return {
      since: this.since.toISOString(),
      requests: { received: this.received, total: this.total, byOutcome: { ...this.byOutcome }, byStatus: { ...this.byStatus } },
      served: { ...this.served },
    };
  }

  reset(): void {
    this.since = new Date();
    this.total = 0;
    this.received = 0;
    this.byOutcome = {};
    this.byStatus = {};
    this.served = { requests: 0, inputs: 0, tokens: 0 };
  }
}

/** Default outcome for a status when the handler did not name one. */
export function outcomeForStatus(status: number): Outcome {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'rate_limited';
  if (status < 500) return 'invalid_request';
  return 'server_error';
}
