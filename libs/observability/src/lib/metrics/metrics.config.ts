export interface MetricsModuleOptions {
  /** The app's name: the registry's default label `app` and the default metrics' prefix. */
  app: string;
  /** Default Node.js/process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Prefix of the default metrics. Default: the app name in snake case plus `_` (`mock_openai_`). */
  defaultMetricsPrefix?: string;
  /** Record `http_request_duration_seconds` for every request. Default true. */
  httpMetrics?: boolean;
  /** Path of the scrape endpoint. Default `metrics`. */
  path?: string;
  /**
   * Extra decorators for the scrape controller, e.g. `[Public()]` from @app/auth where a global guard
   * protects every route, or `[ApiExcludeController()]`.
   */
  controllerDecorators?: ClassDecorator[];
  /** Longest a job-counts provider may take on a scrape before `ingest_jobs` is left empty. Default 5000. */
  collectTimeoutMs?: number;
}

export const METRICS_OPTIONS = Symbol('METRICS_OPTIONS');

/** Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** HTTP latency, seconds: 1 ms .. 10 s. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A stage's run, seconds: 5 ms (a validation) .. 10 min (a large parse or embedding). */
export const STAGE_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];
/** Ready -> claimed, seconds: 1 ms (NOTIFY wake-up) .. 10 min (backlog). */
export const PICKUP_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

/** `mock-openai` -> `mock_openai_`: a valid Prometheus name prefix. */
export function metricsPrefixFor(app: string): string {
  const snake = app
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (!snake) return '';
  return /^[0-9]/.test(snake) ? `_${snake}_` : `${snake}_`;
}
