import { EventEmitter } from 'node:events';
import { ClusterMetricsAggregator, ClusterMetricsChannel, ClusterMetricsWorker, useClusterMetrics } from './cluster-metrics';
import { MetricsService } from './metrics.service';
import { sampleValue } from '../../../test/prom-text';

/** A message as it arrives on the other side of Node's IPC (JSON). */
const overIpc = (m: object): unknown => JSON.parse(JSON.stringify(m));

/** One worker process: its MetricsService, its channel to the primary, and the primary's handle on it. */
interface FakeWorker {
  id: number;
  metrics: MetricsService;
  handle: ClusterMetricsWorker;
  stop(): void;
}

function cluster(timeoutMs = 2_000) {
  const primary = new ClusterMetricsAggregator(timeoutMs);
  const start = (id: number, opts: { serving?: boolean; answers?: boolean } = {}): FakeWorker => {
    const metrics = new MetricsService({ app: 'api', defaultMetrics: true });
    const inbox = new EventEmitter();
    const handle: ClusterMetricsWorker = {
      id,
      send(message, callback) {
        // a worker that does not answer: one whose process has no listener yet
        if (opts.answers !== false) setImmediate(() => inbox.emit('message', overIpc(message)));
        process.nextTick(callback, null);
        return true;
      },
    };
    const channel: ClusterMetricsChannel = {
      send(message, callback) {
        setImmediate(() => primary.handle(handle, overIpc(message)));
        process.nextTick(callback, null);
        return true;
      },
      on: (event, listener) => inbox.on(event, listener),
      off: (event, listener) => inbox.off(event, listener),
    };
    const stop = useClusterMetrics(metrics, channel, timeoutMs + 1_000);
    if (opts.serving !== false) primary.add(handle);
    return { id, metrics, handle, stop };
  };
  return { primary, start };
}

describe('cluster metrics (primary and workers over a fake IPC channel)', () => {
  it('a scrape at any worker reports the sum over all of them: counters and histograms summed', async () => {
    const { start } = cluster();
    const a = start(1);
    const b = start(2);
    for (let i = 0; i < 3; i++) a.metrics.observeHttp('POST', '/api/v2/upload', 201, 0.004);
    for (let i = 0; i < 2; i++) b.metrics.observeHttp('POST', '/api/v2/upload', 201, 0.02);
    a.metrics.transition('parsing', 'stage_done');
    b.metrics.transition('parsing', 'stage_done');

    const own = await a.metrics.registry.metrics();
    expect(sampleValue(own, 'http_request_duration_seconds_count', { route: '/api/v2/upload' })).toBe(3);

    for (const w of [a, b]) {
      const text = await w.metrics.scrape();
      const http = { method: 'POST', route: '/api/v2/upload', status_code: '201', app: 'api' };
      expect(sampleValue(text, 'http_request_duration_seconds_count', http)).toBe(5);
      expect(sampleValue(text, 'http_request_duration_seconds_bucket', { ...http, le: '0.005' })).toBe(3);
      expect(sampleValue(text, 'http_request_duration_seconds_bucket', { ...http, le: '0.025' })).toBe(5);
      expect(sampleValue(text, 'http_request_duration_seconds_sum', http)).toBeCloseTo(3 * 0.004 + 2 * 0.02, 6);
      expect(sampleValue(text, 'ingest_transitions_total', { stage: 'parsing', event: 'stage_done' })).toBe(2);
      // default metrics by prom-client's aggregators: the start time is left out, the version taken once
      expect(text).not.toMatch(/^api_process_start_time_seconds/m);
      expect(sampleValue(text, 'api_nodejs_version_info')).toBe(1);
    }
    a.stop();
    b.stop();
  });

  it('gauges that every process reads from one source are not summed (max)', async () => {
    const { start } = cluster();
    const a = start(1);
    const b = start(2);
    for (const w of [a, b]) w.metrics.setJobCountsProvider(async () => [{ stage: 'parsing', state: 'queued', count: 4 }]);
    a.metrics.bindBreakers({ states: () => [{ name: 'embedder', state: 'open' }], onStateChange: () => () => undefined });
    b.metrics.bindBreakers({ states: () => [{ name: 'embedder', state: 'closed' }], onStateChange: () => () => undefined });
    const text = await b.metrics.scrape();
    expect(sampleValue(text, 'ingest_jobs', { stage: 'parsing', state: 'queued' })).toBe(4);
    expect(sampleValue(text, 'ingest_breaker_state', { service: 'embedder' })).toBe(2);
    a.stop();
    b.stop();
  });

  it('a worker not yet serving is not asked (nor waited for)', async () => {
    const { start } = cluster();
    const a = start(1);
    const booting = start(2, { serving: false, answers: false });
    a.metrics.observeHttp('GET', '/health/live', 200, 0.001);
    booting.metrics.observeHttp('GET', '/health/live', 200, 0.001);
    expect(sampleValue(await a.metrics.scrape(), 'http_request_duration_seconds_count', { route: '/health/live' })).toBe(1);
    a.stop();
    booting.stop();
  });

  it('a serving worker that does not answer fails the scrape (no partial sum); one that exits leaves it', async () => {
    const { primary, start } = cluster(100);
    const a = start(1);
    const stuck = start(2, { answers: false });
    a.metrics.observeHttp('GET', '/health/live', 200, 0.001);
    await expect(a.metrics.scrape()).rejects.toThrow(/cluster metrics: metrics of worker\(s\) 2 not received within 100 ms/);

    const pending = a.metrics.scrape();
    primary.remove(stuck.handle); // it exited while the primary waited for it
    expect(sampleValue(await pending, 'http_request_duration_seconds_count', { route: '/health/live' })).toBe(1);
    a.stop();
    stuck.stop();
  });

  it('no primary answering: the scrape fails after the timeout; stop() restores the local registry', async () => {
    const metrics = new MetricsService({ app: 'api', defaultMetrics: false });
    const inbox = new EventEmitter();
    const channel: ClusterMetricsChannel = {
      send: (_m, callback) => (process.nextTick(callback, null), true),
      on: (e, l) => inbox.on(e, l),
      off: (e, l) => inbox.off(e, l),
    };
    const stop = useClusterMetrics(metrics, channel, 50);
    await expect(metrics.scrape()).rejects.toThrow(/no answer from the primary within 50 ms/);
    stop();
    expect(inbox.listenerCount('message')).toBe(0);
    metrics.observeHttp('GET', '/x', 200, 0.001);
    expect(sampleValue(await metrics.scrape(), 'http_request_duration_seconds_count', { route: '/x' })).toBe(1);

    const closed: ClusterMetricsChannel = {
      send: (_m, callback) => (process.nextTick(callback, new Error('channel closed')), false),
      on: (e, l) => inbox.on(e, l),
      off: (e, l) => inbox.off(e, l),
    };
    const stop2 = useClusterMetrics(metrics, closed, 5_000);
    await expect(metrics.scrape()).rejects.toThrow(/cluster metrics: channel closed/);
    stop2();
    expect(() => useClusterMetrics(metrics, { on: () => undefined, off: () => undefined })).toThrow(/no IPC channel/);
  });

  it('ignores messages that are not its own', () => {
    const primary = new ClusterMetricsAggregator();
    const w: ClusterMetricsWorker = { id: 1, send: () => true };
    expect(primary.handle(w, 'hello')).toBe(false);
    expect(primary.handle(w, { type: 'prom-client:getMetricsReq', requestId: 1 })).toBe(false);
    expect(primary.handle(w, { type: 'ingest:metrics:collected', id: 99, metrics: [] })).toBe(true); // unasked: dropped
  });
});
