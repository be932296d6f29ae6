import { Injectable } from '@nestjs/common';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcome } from '../common/openai-error';

/** Prometheus counters for the mock (own registry per app instance, monotonic, never reset). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly responses = new Counter({
    name: 'mock_openai_responses_total',
    help: 'Responses to /v1 requests by outcome and HTTP status',
    labelNames: ['outcome', 'status'] as const,
    registers: [this.registry],
  });
  private readonly inputs = new Counter({
    name: 'mock_openai_inputs_embedded_total',
    help: 'Inputs embedded',
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'mock_openai_tokens_embedded_total',
    help: 'Prompt tokens embedded',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mock_openai_' });
  }

  response(outcome: Outcome, status: string): void {
    this.responses.inc({ outcome, status });
  }

  served(inputs: number, tokens: number): void {
    this.inputs.inc(inputs);
    this.tokens.inc(tokens);
  }
}
