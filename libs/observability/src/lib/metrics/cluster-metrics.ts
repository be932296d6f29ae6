import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsService } from './metrics.service';

/** A registry as JSON (`Registry.getMetricsAsJSON()`): what a worker hands the primary. */
type RegistryJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * Messages between the processes of a node:cluster for `GET /metrics` (Node's IPC carries them as JSON). The
 * worker that receives a scrape asks the primary (`scrape`); the primary asks every serving worker for its
 * registry (`collect` / `collected`), sums them with prom-client's `AggregatorRegistry.aggregate` (each metric by
 * its `aggregator`: counters and histograms summed, gauges summed unless they say otherwise) and answers
 * (`scraped`). prom-client's own `clusterMetrics()` is not used: it asks every connected worker, one still booting
 * (no listener yet) included, and then fails the scrape after a fixed 5 s.
 */
export const CLUSTER_METRICS_MESSAGE = {
  scrape: 'ingest:metrics:scrape',
  scraped: 'ingest:metrics:scraped',
  collect: 'ingest:metrics:collect',
  collected: 'ingest:metrics:collected',
} as const;

/** Longest the primary waits for the workers' registries. */
export const CLUSTER_COLLECT_TIMEOUT_MS = 5_000;
/** Longest a worker waits for the primary's sum (more than the primary's own wait, whose error it then reports). */
export const CLUSTER_SCRAPE_TIMEOUT_MS = 8_000;

type SendCallback = (error: Error | null) => void;

/** A worker as the primary sees it (node:cluster's `Worker` fits). */
export interface ClusterMetricsWorker {
  readonly id: number;
  send(message: object, callback: SendCallback): boolean;
}

/** A worker's channel to the primary (`process` in a node:cluster worker fits). */
export interface ClusterMetricsChannel {
  send?(message: object, callback: SendCallback): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

interface Message {
  type: string;
  id: number;
  text?: string;
  metrics?: RegistryJson;
  error?: string;
}

function asMessage(m: unknown): Message | null {
  if (typeof m !== 'object' || m === null) return null;
  const { type, id } = m as Partial<Message>;
  return typeof type === 'string' && type.startsWith('ingest:metrics:') && typeof id === 'number' ? (m as Message) : null;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface Collection {
  waiting: Set<number>;
  results: RegistryJson[];
  timer: NodeJS.Timeout;
  resolve(text: string): void;
  reject(error: Error): void;
}

/**
 * The primary's side: sums the registries of the workers that serve (`add` once a worker listens, `remove` when it
 * exits) for any worker that asks. Feed it every worker message (`handle`).
 */
export class ClusterMetricsAggregator {
  private readonly workers = new Map<number, ClusterMetricsWorker>();
  private readonly collections = new Map<number, Collection>();
  private nextId = 0;

  constructor(private readonly timeoutMs = CLUSTER_COLLECT_TIMEOUT_MS) {}

  /** `worker` serves requests: its registry counts from now on. */
  add(worker: ClusterMetricsWorker): void {
    this.workers.set(worker.id, worker);
  }

  /** `worker` is gone: collections in progress stop waiting for it (its counts leave the sum). */
  remove(worker: Pick<ClusterMetricsWorker, 'id'>): void {
    this.workers.delete(worker.id);
    for (const [id, c] of this.collections) if (c.waiting.delete(worker.id)) this.settleIfDone(id);
  }

  /** Handles a message from `worker`; false when it is not one of these. */
  handle(worker: ClusterMetricsWorker, message: unknown): boolean {
    const m = asMessage(message);
    if (!m) return false;
    if (m.type === CLUSTER_METRICS_MESSAGE.scrape) {
      this.collect().then(
        (text) => worker.send({ type: CLUSTER_METRICS_MESSAGE.scraped, id: m.id, text }, ignoreSendError),
        (e: unknown) => worker.send({ type: CLUSTER_METRICS_MESSAGE.scraped, id: m.id, error: errorText(e) }, ignoreSendError),
      );
      return true;
    }
    if (m.type === CLUSTER_METRICS_MESSAGE.collected) {
      const c = this.collections.get(m.id);
      if (!c || !c.waiting.has(worker.id)) return true; // late (timed out) or unasked
      if (m.error !== undefined || !Array.isArray(m.metrics)) {
        this.finish(m.id)?.reject(new Error(`worker ${worker.id}: ${m.error ?? 'no metrics'}`));
        return true;
      }
      c.waiting.delete(worker.id);
      c.results.push(m.metrics);
      this.settleIfDone(m.id);
      return true;
    }
    return false;
  }

  /** The exposition text summed over the serving workers. */
  collect(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        const c = this.finish(id);
        c?.reject(new Error(`metrics of worker(s) ${[...c.waiting].join(', ')} not received within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.collections.set(id, { waiting: new Set(this.workers.keys()), results: [], timer, resolve, reject });
      for (const w of [...this.workers.values()]) {
        w.send({ type: CLUSTER_METRICS_MESSAGE.collect, id }, (e) => {
          // its channel closed: it is exiting, and `remove` follows
          if (e) this.remove(w);
        });
      }
      this.settleIfDone(id);
    });
  }

  private settleIfDone(id: number): void {
    const c = this.collections.get(id);
    if (!c || c.waiting.size > 0) return;
    this.finish(id);
    let sum: Registry;
    try {
      sum = AggregatorRegistry.aggregate(c.results);
    } catch (e) {
      // an unknown `aggregator`: this scrape fails, the primary goes on
      c.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    sum.metrics().then(c.resolve, c.reject);
  }

  private finish(id: number): Collection | undefined {
    const c = this.collections.get(id);
    if (!c) return undefined;
    clearTimeout(c.timer);
    this.collections.delete(id);
    return c;
  }
}

function ignoreSendError(): void {
  // the asking worker is gone: nobody is waiting for the answer
}

/**
 * The worker's side: answers the primary's collections from `metrics`' own registry, and makes `metrics.scrape()`
 * (so `GET /metrics`) return the primary's sum over all workers. Returns the function that undoes both.
 */
export function useClusterMetrics(
  metrics: Pick<MetricsService, 'registry' | 'setScrapeSource'>,
  channel: ClusterMetricsChannel = process,
  timeoutMs = CLUSTER_SCRAPE_TIMEOUT_MS,
): () => void {
  const send = channel.send?.bind(channel);
  if (!send) throw new Error('useClusterMetrics: no IPC channel (not a cluster worker)');
  const pending = new Map<number, { resolve(text: string): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  let nextId = 0;

  const onMessage = (message: unknown): void => {
    const m = asMessage(message);
    if (!m) return;
    if (m.type === CLUSTER_METRICS_MESSAGE.collect) {
      metrics.registry.getMetricsAsJSON().then(
        (json) => send({ type: CLUSTER_METRICS_MESSAGE.collected, id: m.id, metrics: json }, ignoreSendError),
        (e: unknown) => send({ type: CLUSTER_METRICS_MESSAGE.collected, id: m.id, error: errorText(e) }, ignoreSendError),
      );
    } else if (m.type === CLUSTER_METRICS_MESSAGE.scraped) {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (typeof m.text === 'string') p.resolve(m.text);
      else p.reject(new Error(`cluster metrics: ${m.error ?? 'no answer'}`));
    }
  };
  channel.on('message', onMessage);

  metrics.setScrapeSource(
    () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`cluster metrics: no answer from the primary within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        send({ type: CLUSTER_METRICS_MESSAGE.scrape, id }, (e) => {
          if (!e || !pending.delete(id)) return;
          clearTimeout(timer);
          reject(new Error(`cluster metrics: ${e.message}`));
        });
      }),
  );

  return () => {
    channel.off('message', onMessage);
    metrics.setScrapeSource(null);
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('cluster metrics: stopped'));
    }
    pending.clear();
  };
}
