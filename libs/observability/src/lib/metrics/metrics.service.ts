import { Inject, Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerStateChange, BreakerStateName, BreakerStatus } from '@app/circuit-breaker';
import { withTimeout } from '../health/with-timeout';
import {
  HTTP_DURATION_BUCKETS,
  METRICS_OPTIONS,
  MetricsModuleOptions,
  metricsPrefixFor,
  PICKUP_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  STAGE_DURATION_BUCKETS,
} from './metrics.config';

/** One row of `SELECT stage, state, count(*) ... GROUP BY stage, state`. */
export interface JobCount {
  stage: string;
  state: string;
  count: number;
}

export type JobCountsProvider = () => Promise<readonly JobCount[]>;

/** What `bindBreakers` needs of a breaker registry (`BreakerRegistry` from @app/circuit-breaker fits). */
export interface BreakerSource {
  states(): ReadonlyArray<Pick<BreakerStatus, 'name' | 'state'>>;
  onStateChange(listener: (change: Pick<BreakerStateChange, 'name' | 'state'>) => void): () => void;
}

/** `ingest_breaker_state` values. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerStateName, number>> = Object.freeze({
  closed: 0,
  half_open: 1,
  open: 2,
  isolated: 3,
});

/** Label of an unrecognized breaker state in the gauge (should not happen). */
const UNKNOWN_BREAKER_STATE = -1;

/** Route label of requests no route matched (404s), so probing random paths cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The app's Prometheus metrics in a registry of its own (never prom-client's global one, so several
 * apps can live in one process): default process metrics, HTTP latency by route template, and the
 * pipeline's metrics. Label values are bounded sets (stage, state, error code, model, service);
 * never a job or document id.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly contentType = PROMETHEUS_CONTENT_TYPE;

  private readonly logger = new Logger('Metrics');
  private jobCountsProvider: JobCountsProvider | null = null;
  /** The scrape's job-count collection, which the collect-errors counter waits for (same scrape). */
  private jobsCollect: Promise<void> = Promise.resolve();
  private readonly seenJobLabels = new Map<string, { stage: string; state: string }>();
  private readonly breakerSources = new Set<BreakerSource>();
  private readonly collectTimeoutMs: number;
  private scrapeSource: (() => Promise<string>) | null = null;

  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly jobs: Gauge<'stage' | 'state'>;
  private readonly collectErrors: Counter<'collector'>;
  private readonly stageDuration: Histogram<'stage' | 'outcome'>;
  private readonly transitions: Counter<'stage' | 'event'>;
  private readonly retries: Counter<'stage' | 'code'>;
  private readonly deadletters: Counter<'stage' | 'code'>;
  private readonly breakerState: Gauge<'service'>;
  private readonly breakerTransitions: Counter<'service' | 'state'>;
  private readonly embeddingTokens: Counter<'model'>;
  private readonly embeddingRequests: Counter<'model' | 'outcome'>;
  private readonly prunedRows: Counter<'table'>;
  private readonly pickup: Histogram<'stage'>;

  constructor(@Inject(METRICS_OPTIONS) readonly options: MetricsModuleOptions) {
    this.collectTimeoutMs = options.collectTimeoutMs ?? 5_000;
    this.registry.setDefaultLabels({ app: options.app });
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: options.defaultMetricsPrefix ?? metricsPrefixFor(options.app) });
    }
    const registers = [this.registry];

    this.httpRequestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [...HTTP_DURATION_BUCKETS],
      registers,
    });
    this.jobs = new Gauge({
      name: 'ingest_jobs',
      help: 'Upload jobs not yet done (the backlog, jobs in hand or waiting, dead letters) by stage and state, queried on scrape',
      labelNames: ['stage', 'state'] as const,
      registers,
      // the same database counts in every process of a cluster: not summed
      aggregator: 'max',
      collect: () => (this.jobsCollect = this.collectJobCounts()),
    });
    // registered after ingest_jobs: a scrape starts collectors in registration order, so this one
    // waits for that scrape's job counts and reports a failure in the same scrape
    this.collectErrors = new Counter({
      name: 'ingest_metrics_collect_errors_total',
      help: 'Scrape-time collectors that failed or timed out',
      labelNames: ['collector'] as const,
      registers,
      collect: () => this.jobsCollect,
    });
    this.stageDuration = new Histogram({
      name: 'ingest_stage_duration_seconds',
      help: 'Time a worker spent running a stage, by outcome',
      labelNames: ['stage', 'outcome'] as const,
      buckets: [...STAGE_DURATION_BUCKETS],
      registers,
    });
    this.transitions = new Counter({
      name: 'ingest_transitions_total',
      help: 'Job state transitions by stage and event (stage_started, stage_done, retry, error, finalized)',
      labelNames: ['stage', 'event'] as const,
      registers,
    });
    this.retries = new Counter({
      name: 'ingest_retries_total',
      help: 'Jobs sent to retryable by stage and error code',
      labelNames: ['stage', 'code'] as const,
      registers,
    });
    this.deadletters = new Counter({
      name: 'ingest_deadletters_total',
      help: 'Jobs dead-lettered by stage and error code',
      labelNames: ['stage', 'code'] as const,
      registers,
    });
    this.breakerState = new Gauge({
      name: 'ingest_breaker_state',
      help: 'Circuit breaker state per outside service: 0 closed, 1 half_open, 2 open, 3 isolated',
      labelNames: ['service'] as const,
      registers,
      // over a cluster's processes: the worst state
      aggregator: 'max',
      collect: () => this.collectBreakerStates(),
    });
    this.breakerTransitions = new Counter({
      name: 'ingest_breaker_transitions_total',
      help: 'Circuit breaker state changes by service and new state',
      labelNames: ['service', 'state'] as const,
      registers,
    });
    this.embeddingTokens = new Counter({
      name: 'ingest_embedding_tokens_total',
      help: 'Input tokens sent to the embedding provider',
      labelNames: ['model'] as const,
      registers,
    });
    this.embeddingRequests = new Counter({
      name: 'ingest_embedding_requests_total',
      help: 'Embedding requests by model and outcome',
      labelNames: ['model', 'outcome'] as const,
      registers,
    });
    this.prunedRows = new Counter({
      name: 'ingest_pruned_rows_total',
      help: 'Rows deleted by retention, by table (events, webhook_log)',
      labelNames: ['table'] as const,
      registers,
    });
    this.pickup = new Histogram({
      name: 'ingest_stage_pickup_seconds',
      help: 'Time from a job becoming ready (queued or retry due) to a worker claiming it',
      labelNames: ['stage'] as const,
      buckets: [...PICKUP_BUCKETS],
      registers,
    });
  }

  /** The exposition text (`contentType` is its media type): the registry's, or the scrape source's when one is set. */
  scrape(): Promise<string> {
    return this.scrapeSource ? this.scrapeSource() : this.registry.metrics();
  }

  /**
   * Scrapes answer with `source()` instead of this registry (a node:cluster worker: the sum over all processes,
   * see `useClusterMetrics`); null: the registry again.
   */
  setScrapeSource(source: (() => Promise<string>) | null): void {
    this.scrapeSource = source;
  }

  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpRequestDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  /**
   * Queried on each scrape for `ingest_jobs` (so the database is hit only when Prometheus asks).
   * A stage/state pair seen before but absent now reports 0 instead of vanishing. Replaces the previous one.
   */
  setJobCountsProvider(provider: JobCountsProvider | null): void {
    this.jobCountsProvider = provider;
  }

  /** A stage run took `seconds`; `outcome` e.g. done, retry, deadletter, waiting, released. */
  observeStageDuration(stage: string, outcome: string, seconds: number): void {
    this.stageDuration.observe({ stage, outcome }, Math.max(0, seconds));
  }

  /** Starts timing a stage run; call the result with the outcome when it ends. Returns the seconds. */
  startStageTimer(stage: string): (outcome: string) => number {
    const end = this.stageDuration.startTimer({ stage });
    return (outcome) => end({ outcome });
  }

  transition(stage: string, event: string): void {
    this.transitions.inc({ stage, event });
  }

  retry(stage: string, code: string): void {
    this.retries.inc({ stage, code });
  }

  deadletter(stage: string, code: string): void {
    this.deadletters.inc({ stage, code });
  }

  /** Time from ready to claimed (clock skew never makes it negative). */
  observePickup(stage: string, seconds: number): void {
    this.pickup.observe({ stage }, Math.max(0, seconds));
  }

  embeddingTokensUsed(model: string, tokens: number): void {
    if (tokens > 0) this.embeddingTokens.inc({ model }, tokens);
  }

  /** Retention deleted `rows` rows of `table`. */
  rowsPruned(table: string, rows: number): void {
    if (rows > 0) this.prunedRows.inc({ table }, rows);
  }

  /** `outcome` e.g. ok, rate_limited, transient_error, permanent_error, breaker_open. */
  embeddingRequest(model: string, outcome: string): void {
    this.embeddingRequests.inc({ model, outcome });
  }

  /**
   * Keeps `ingest_breaker_state` current from `source.states()` (read on each scrape, so breakers
   * created later show up too) and counts every change in `ingest_breaker_transitions_total`.
   * Returns the unbind function.
   */
  bindBreakers(source: BreakerSource): () => void {
    this.breakerSources.add(source);
    const unsubscribe = source.onStateChange((change) => {
      this.breakerTransitions.inc({ service: change.name, state: change.state });
      this.breakerState.set({ service: change.name }, breakerStateValue(change.state));
    });
    return () => {
      unsubscribe();
      this.breakerSources.delete(source);
    };
  }

  private collectBreakerStates(): void {
    for (const source of this.breakerSources) {
      for (const b of source.states()) this.breakerState.set({ service: b.name }, breakerStateValue(b.state));
    }
  }

  private async collectJobCounts(): Promise<void> {
    const provider = this.jobCountsProvider;
    if (!provider) return;
    let rows: readonly JobCount[];
    try {
      rows = await withTimeout(provider(), this.collectTimeoutMs, 'job counts query');
    } catch (e) {
      // no stale numbers: an empty gauge and a counted error rather than a failed scrape
      this.jobs.reset();
      this.collectErrors.inc({ collector: 'ingest_jobs' });
      this.logger.warn(`ingest_jobs not collected: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.jobs.reset();
    const present = new Set<string>();
    for (const r of rows) {
      const key = `${r.stage}\u0000${r.state}`;
      present.add(key);
      this.seenJobLabels.set(key, { stage: r.stage, state: r.state });
      this.jobs.set({ stage: r.stage, state: r.state }, Number(r.count));
    }
    for (const [key, labels] of this.seenJobLabels) if (!present.has(key)) this.jobs.set(labels, 0);
  }
}

function breakerStateValue(state: string): number {
  return (BREAKER_STATE_VALUE as Record<string, number>)[state] ?? UNKNOWN_BREAKER_STATE;
}
