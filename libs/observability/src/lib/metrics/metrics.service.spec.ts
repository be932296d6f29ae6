import { Logger } from '@nestjs/common';
import { BreakerRegistry } from '@app/circuit-breaker';
import { TransientError } from '@app/errors';
import { metricsPrefixFor, PROMETHEUS_CONTENT_TYPE } from './metrics.config';
import { JobCount, MetricsService } from './metrics.service';
import { parseSamples, sampleValue } from '../../../test/prom-text';

function service(app = 'worker', defaultMetrics = false): MetricsService {
  return new MetricsService({ app, defaultMetrics, collectTimeoutMs: 200 });
}

describe('MetricsService', () => {
  beforeAll(() => Logger.overrideLogger(false)); // breaker and collector warnings are expected here

  it('uses a registry of its own: two services in one process do not clash', async () => {
    const a = new MetricsService({ app: 'api' });
    const b = new MetricsService({ app: 'worker' });
    a.transition('parsing', 'stage_done');
    a.transition('parsing', 'stage_done');
    b.transition('parsing', 'stage_done');
    const [ta, tb] = await Promise.all([a.scrape(), b.scrape()]);
    expect(sampleValue(ta, 'ingest_transitions_total', { stage: 'parsing', event: 'stage_done', app: 'api' })).toBe(2);
    expect(sampleValue(tb, 'ingest_transitions_total', { stage: 'parsing', event: 'stage_done', app: 'worker' })).toBe(1);
    // default process metrics, prefixed by app
    expect(ta).toMatch(/^api_process_cpu_user_seconds_total/m);
    expect(tb).toMatch(/^worker_process_cpu_user_seconds_total/m);
    expect(ta).not.toMatch(/^worker_/m);
    expect(a.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
  });

  it('defaultMetrics: false leaves the process metrics out', async () => {
    expect(await service('x', false).scrape()).not.toContain('process_cpu');
  });

  it('metricsPrefixFor makes valid prefixes', () => {
    expect(metricsPrefixFor('mock-openai')).toBe('mock_openai_');
    expect(metricsPrefixFor('API')).toBe('api_');
    expect(metricsPrefixFor('9lives')).toBe('_9lives_');
    expect(metricsPrefixFor('--')).toBe('');
  });

  it('ingest_jobs comes from the provider at scrape time only, and a pair that disappears reports 0', async () => {
    const m = service();
    let calls = 0;
    let rows: JobCount[] = [
      { stage: 'parsing', state: 'waiting', count: 3 },
      { stage: 'chunking', state: 'queued', count: 7 },
    ];
    m.setJobCountsProvider(async () => {
      calls++;
      return rows;
    });
    expect(calls).toBe(0);
    let text = await m.scrape();
    expect(calls).toBe(1);
    expect(sampleValue(text, 'ingest_jobs', { stage: 'parsing', state: 'waiting' })).toBe(3);
    expect(sampleValue(text, 'ingest_jobs', { stage: 'chunking', state: 'queued' })).toBe(7);

    rows = [{ stage: 'complete', state: 'done', count: 10 }];
    text = await m.scrape();
    expect(calls).toBe(2);
    expect(sampleValue(text, 'ingest_jobs', { stage: 'complete', state: 'done' })).toBe(10);
    expect(sampleValue(text, 'ingest_jobs', { stage: 'parsing', state: 'waiting' })).toBe(0);
    expect(sampleValue(text, 'ingest_jobs', { stage: 'chunking', state: 'queued' })).toBe(0);
  });

  it('a failing or hanging provider empties ingest_jobs and counts the error; the scrape still succeeds', async () => {
    const m = service();
    m.setJobCountsProvider(async () => [{ stage: 'parsing', state: 'queued', count: 1 }]);
    await m.scrape();
    m.setJobCountsProvider(async () => {
      throw new Error('connection refused');
    });
    let text = await m.scrape();
    expect(parseSamples(text).filter((s) => s.name === 'ingest_jobs')).toHaveLength(0);
    expect(sampleValue(text, 'ingest_metrics_collect_errors_total', { collector: 'ingest_jobs' })).toBe(1);

    m.setJobCountsProvider(() => new Promise<JobCount[]>(() => undefined)); // never answers
    text = await m.scrape(); // bounded by collectTimeoutMs (200 ms)
    expect(sampleValue(text, 'ingest_metrics_collect_errors_total', { collector: 'ingest_jobs' })).toBe(2);
  });

  it('pipeline counters and histograms carry only bounded labels', async () => {
    const m = service();
    m.retry('parsing', 'upstream_5xx');
    m.deadletter('job_validated', 'sha256_mismatch');
    m.embeddingTokensUsed('text-embedding-3-small', 1234);
    m.embeddingTokensUsed('text-embedding-3-small', 0);
    m.embeddingRequest('text-embedding-3-small', 'ok');
    m.observeStageDuration('chunking', 'done', 0.04);
    const end = m.startStageTimer('parsing');
    expect(end('retry')).toBeGreaterThanOrEqual(0);
    m.observePickup('parse_queued', 0.012);
    m.observePickup('parse_queued', -0.5); // clock skew: counted as 0
    const text = await m.scrape();
    expect(sampleValue(text, 'ingest_retries_total', { stage: 'parsing', code: 'upstream_5xx' })).toBe(1);
    expect(sampleValue(text, 'ingest_deadletters_total', { stage: 'job_validated', code: 'sha256_mismatch' })).toBe(1);
    expect(sampleValue(text, 'ingest_embedding_tokens_total', { model: 'text-embedding-3-small' })).toBe(1234);
    expect(sampleValue(text, 'ingest_embedding_requests_total', { model: 'text-embedding-3-small', outcome: 'ok' })).toBe(1);
    expect(sampleValue(text, 'ingest_stage_duration_seconds_count', { stage: 'chunking', outcome: 'done' })).toBe(1);
    expect(sampleValue(text, 'ingest_stage_duration_seconds_bucket', { stage: 'chunking', outcome: 'done', le: '0.05' })).toBe(1);
    expect(sampleValue(text, 'ingest_stage_duration_seconds_bucket', { stage: 'chunking', outcome: 'done', le: '0.025' })).toBe(0);
    expect(sampleValue(text, 'ingest_stage_duration_seconds_count', { stage: 'parsing', outcome: 'retry' })).toBe(1);
    expect(sampleValue(text, 'ingest_stage_pickup_seconds_count', { stage: 'parse_queued' })).toBe(2);
    expect(sampleValue(text, 'ingest_stage_pickup_seconds_bucket', { stage: 'parse_queued', le: '0.001' })).toBe(1);
    expect(sampleValue(text, 'ingest_stage_pickup_seconds_bucket', { stage: 'parse_queued', le: '0.025' })).toBe(2);
    // ms-range up to minutes
    expect(sampleValue(text, 'ingest_stage_pickup_seconds_bucket', { stage: 'parse_queued', le: '600' })).toBe(2);
  });

  it('bindBreakers keeps ingest_breaker_state current and counts transitions (real BreakerRegistry)', async () => {
    const m = service();
    const breakers = new BreakerRegistry({
      services: { parser: { maxAttempts: 1, breaker: { kind: 'consecutive', threshold: 1 }, halfOpenAfterMs: 60_000 } },
    });
    const unbind = m.bindBreakers(breakers);
    let text = await m.scrape();
    expect(sampleValue(text, 'ingest_breaker_state', { service: 'parser' })).toBe(0);

    await expect(
      breakers.get('parser').execute(async () => {
        throw new TransientError('503 from parser');
      }),
    ).rejects.toBeInstanceOf(TransientError);
    breakers.get('embedder'); // created after binding: still reported
    const isolation = breakers.get('embedder').isolate();
    text = await m.scrape();
    expect(sampleValue(text, 'ingest_breaker_state', { service: 'parser' })).toBe(2);
    expect(sampleValue(text, 'ingest_breaker_state', { service: 'embedder' })).toBe(3);
    expect(sampleValue(text, 'ingest_breaker_transitions_total', { service: 'parser', state: 'open' })).toBe(1);
    expect(sampleValue(text, 'ingest_breaker_transitions_total', { service: 'embedder', state: 'isolated' })).toBe(1);

    isolation.dispose();
    text = await m.scrape();
    expect(sampleValue(text, 'ingest_breaker_state', { service: 'embedder' })).toBe(0);
    expect(sampleValue(text, 'ingest_breaker_transitions_total', { service: 'embedder', state: 'closed' })).toBe(1);

    unbind();
    breakers.get('embedder').isolate();
    text = await m.scrape();
    expect(sampleValue(text, 'ingest_breaker_transitions_total', { service: 'embedder', state: 'isolated' })).toBe(1);
  });
});
