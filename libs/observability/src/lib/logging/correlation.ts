import { AsyncLocalStorage } from 'node:async_hooks';

export interface CorrelationContext {
  correlationId: string;
}

/**
 * The correlation id of the work in progress. HTTP requests run inside the request id (LoggingModule
 * enters it); the worker runs each job inside the job's `correlation_id` via `withCorrelation`.
 * Every pino log line written while a context is active carries `correlation_id` (pino `mixin`).
 */
export const correlationStorage = new AsyncLocalStorage<CorrelationContext>();

/** Runs `fn` (and everything it awaits or schedules) with `correlationId` as the current correlation id. */
export function withCorrelation<T>(correlationId: string, fn: () => T): T {
  return correlationStorage.run({ correlationId }, fn);
}

/** The current correlation id, or undefined outside any `withCorrelation` / HTTP request. */
export function currentCorrelationId(): string | undefined {
  return correlationStorage.getStore()?.correlationId;
}
