import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService as SharedMetrics } from '@app/observability';
import type { Outcome } from '../common/openai-error';

/** The mock's own Prometheus counters, in the app's registry (served by MetricsModule at /metrics). */
@Injectable()
export class MetricsService {
  private readonly responses: Counter<'outcome' | 'status'>;
  private readonly inputs: Counter;
  private readonly tokens: Counter;

  constructor(shared: SharedMetrics) {
    const registers = [shared.registry];
    this.responses = new Counter({
      name: 'mock_openai_responses_total',
      help: 'Responses to /v1 requests by outcome and HTTP status',
      labelNames: ['outcome', 'status'] as const,
      registers,
    });
    this.inputs = new Counter({ name: 'mock_openai_inputs_embedded_total', help: 'Inputs embedded', registers });
    this.tokens = new Counter({ name: 'mock_openai_tokens_embedded_total', help: 'Prompt tokens embedded', registers });
  }

  response(outcome: Outcome, status: string): void {
    this.responses.inc({ outcome, status });
  }

  served(inputs: number, tokens: number): void {
    this.inputs.inc(inputs);
    this.tokens.inc(tokens);
  }
}
