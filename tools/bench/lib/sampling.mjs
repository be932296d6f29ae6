// Sampling while the pipeline runs: CPU and RSS of every process (machine.mjs), the database backends' wait
// states, the workers' V8 memory and (a running stack) the workers' RSS from their /metrics.
import pg from 'pg';
import { rssMiB, startSampler } from './machine.mjs';
import { percentile, sleep } from './stats.mjs';
import { scrapeHeapMiB, scrapeRssMiB } from './worker-metrics.mjs';

const WAITS_SQL = `SELECT CASE WHEN state = 'idle' THEN 'idle connection'
                       WHEN state LIKE 'idle in transaction%' THEN 'idle in transaction (waiting for the app)'
                       ELSE coalesce(wait_event_type || ':' || wait_event, 'running (CPU)') END AS w, count(*)::int AS n
           FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'
             AND application_name NOT LIKE 'ingest-bench%' GROUP BY 1`;

/**
 * Opens the samplers' own database connection; sampling begins with `start()` (at once, or once the workers
 * run with --preload) and ends with `stop()`, which returns what was sampled. `db` is the bench's connection:
 * the wait-state queries count as its own transactions. `workerUrls` are --worker-url (a running stack).
 */
export async function openSamplers({ stack, workerUrls, databaseUrl, db, log }) {
  // where the database's backends spend their time: pg_stat_activity wait events, sampled every 200 ms
  const waits = new Map();
  let waitSamples = 0;
  const waitDb = new pg.Client({ connectionString: databaseUrl, application_name: 'ingest-bench-waits' });
  waitDb.on('error', (e) => log(`database connection (wait sampler): ${e.message}`));
  await waitDb.connect();
  let waitTimer = null;
  let waitBusy = false;
  const heap = new Map();
  const remoteRss = new Map(workerUrls.map((u) => [u, []]));
  let sampler = null;
  let idleRss = {};
  let remoteTimer = null;
  let heapTimer = null;

  const start = () => {
    idleRss = stack
      ? Object.fromEntries(stack.workers.map((w) => [w.name, Number((rssMiB(w.pid) ?? 0).toFixed(1))]))
      : {};
    const workerProcs = stack ? stack.workers.map((w) => ({ name: w.name, pid: w.pid })) : [];
    const otherProcs = stack
      ? stack.procs.filter((p) => p.app !== 'worker').map((p) => ({ name: p.name, pid: p.pid }))
      : [];
    sampler = startSampler([...workerProcs, ...otherProcs], { postmaster: stack?.postmaster ?? null });
    waitTimer = setInterval(() => {
      if (waitBusy) return;
      waitBusy = true;
      db.ownXacts++;
      waitDb
        .query(WAITS_SQL)
        .then(({ rows }) => {
          waitSamples++;
          for (const r of rows) waits.set(r.w, (waits.get(r.w) ?? 0) + r.n);
        })
        .catch(() => undefined)
        .finally(() => (waitBusy = false));
    }, 200);
    const heapUrls = stack ? stack.workers.map((w) => [w.name, w.url]) : workerUrls.map((u) => [u, u]);
    heapTimer = setInterval(() => {
      for (const [name, url] of heapUrls)
        void scrapeHeapMiB(url).then((h) => {
          if (!h) return;
          const cur = heap.get(name) ?? { heap_used_max: 0, heap_total_max: 0, external_max: 0 };
          heap.set(name, {
            heap_used_max: Math.max(cur.heap_used_max, h.heap_used ?? 0),
            heap_total_max: Math.max(cur.heap_total_max, h.heap_total ?? 0),
            external_max: Math.max(cur.external_max, h.external ?? 0),
          });
        });
    }, 1000);
    remoteTimer = remoteRss.size
      ? setInterval(() => {
          for (const [u, arr] of remoteRss) void scrapeRssMiB(u).then((v) => v !== null && arr.push(v));
        }, 200)
      : null;
  };

  const stop = async () => {
    const usage = sampler.stop();
    if (remoteTimer) clearInterval(remoteTimer);
    if (heapTimer) clearInterval(heapTimer);
    if (waitTimer) clearInterval(waitTimer);
    while (waitBusy) await sleep(20);
    await waitDb.end().catch(() => undefined);
    return { usage, idleRss, heap, remoteRss, waits, waitSamples };
  };

  return { start, stop };
}

const rssStats = (s) => ({
  max: Number(Math.max(...s).toFixed(1)),
  p50: Number(percentile(s, 50).toFixed(1)),
  samples: s.length,
});

/** Each worker's RSS, MiB: max, p50 and sample count (its own stack's workers, then the --worker-url ones). */
export function workerRss({ usage, remoteRss }) {
  const rssPer = {};
  for (const [name, s] of Object.entries(usage.rss_samples_mib)) {
    if (!name.startsWith('worker')) continue;
    rssPer[name] = rssStats(s);
  }
  for (const [u, s] of remoteRss) if (s.length) rssPer[u] = rssStats(s);
  return rssPer;
}

/** The other processes' (api, mocks, postgres) RSS max, MiB. */
export function otherRss({ usage }) {
  const out = {};
  for (const [name, s] of Object.entries(usage.rss_samples_mib)) {
    if (!name.startsWith('worker') && s.length) out[name] = { max: Number(Math.max(...s).toFixed(1)) };
  }
  return out;
}

/** Each worker's V8 memory maxima, MiB to 0.1. */
export function workerHeap({ heap }) {
  return Object.fromEntries(
    [...heap].map(([k, v]) => [
      k,
      Object.fromEntries(Object.entries(v).map(([a, b]) => [a, Number(b.toFixed(1))])),
    ]),
  );
}

/** Mean number of client backends in each wait state, most first. */
export function backendsByWait({ waits, waitSamples }) {
  return Object.fromEntries(
    [...waits]
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => [k, Number((v / Math.max(1, waitSamples)).toFixed(2))]),
  );
}
