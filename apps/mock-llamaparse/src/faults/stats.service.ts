import { Injectable } from '@nestjs/common';
import { DOCUMENT_TYPES, DocumentType } from '../parsers/parser';

export type InjectedFault = 'http500' | 'http503' | 'http429' | 'http402' | 'timeout';
export type WebhookOutcome = 'sent' | 'dropped' | 'failed';

export interface MockStats {
  /** Accepted uploads (jobs created). */
  uploads: number;
  /** Status answers for a known job (v1 `GET /job/:id`; v2 `GET /api/v2/parse/:id` unless it reads a completed job's expanded result). */
  statusChecks: number;
  parsed: Record<DocumentType, number>;
  parseErrors: number;
  canceled: number;
  errorsInjected: Record<InjectedFault, number> & { total: number };
  webhooks: Record<WebhookOutcome, number> & { retries: number };
}

function zero(): MockStats {
  return {
    uploads: 0,
    statusChecks: 0,
    parsed: Object.fromEntries(DOCUMENT_TYPES.map((t) => [t, 0])) as Record<DocumentType, number>,
    parseErrors: 0,
    canceled: 0,
    errorsInjected: { http500: 0, http503: 0, http429: 0, http402: 0, timeout: 0, total: 0 },
    webhooks: { sent: 0, dropped: 0, failed: 0, retries: 0 },
  };
}

/** Counters behind `GET /_mock/stats` (since start or the last `DELETE /_mock/stats`). */
@Injectable()
export class StatsService {
  private stats = zero();

  upload(): void {
    this.stats.uploads++;
  }

  statusCheck(): void {
    this.stats.statusChecks++;
  }

  parsed(type: DocumentType): void {
    this.stats.parsed[type]++;
  }

  parseError(): void {
    this.stats.parseErrors++;
  }

  canceled(): void {
    this.stats.canceled++;
  }

  fault(kind: InjectedFault): void {
    this.stats.errorsInjected[kind]++;
    this.stats.errorsInjected.total++;
  }

  webhook(outcome: WebhookOutcome): void {
    this.stats.webhooks[outcome]++;
  }

  webhookRetry(): void {
    this.stats.webhooks.retries++;
  }

  snapshot(): MockStats {
    return structuredClone(this.stats);
  }

  reset(): void {
    this.stats = zero();
  }
}
