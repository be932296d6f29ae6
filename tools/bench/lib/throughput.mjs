// Phase 1, the throughput run: upload every document, wait until all settle, and measure the pipeline meanwhile
// (documents/minute, stage latencies, CPU, RSS, database commits and WAL a document).
import { dbCounters, topStatements } from './bench-db.mjs';
import { analyze, loadEvents, waitSettled } from './events.mjs';
import { uploadAll } from './load.mjs';
import { topSnapshot } from './machine.mjs';
import { backendsByWait, openSamplers, otherRss, workerHeap, workerRss } from './sampling.mjs';
import { sleep, summarize } from './stats.mjs';
import { scrapeStageMetrics } from './worker-metrics.mjs';

/**
 * Runs phase 1 on `target` with the generated `docs`. Returns `throughput` (the results' section), `failed`
 * (a job dead-lettered or the wait timed out), and the database counters' `delta` and the run's wall time
 * `wallS` (the commit probe compares the pipeline's rates with its own).
 */
export async function measureThroughput({ o, target, db, docs, token, runId, workerUrls, log }) {
  const { stack } = target;
  await sleep(1500); // let the backends flush their statistics (they do so at most once a second)
  const before = await dbCounters(db.client);
  if (o.pgStatements) await db.client.query('SELECT pg_stat_statements_reset()');
  db.ownXacts = 0;
  const samplers = await openSamplers({ stack, workerUrls, databaseUrl: target.databaseUrl, db, log });
  if (!o.preload) samplers.start();

  const { uploads, jobIds, uploadS, t0 } = await uploadAll({
    apiUrl: target.apiUrl,
    token,
    docs,
    concurrency: o.uploadConcurrency,
    runId,
    log,
  });
  if (o.preload) {
    log(`preload: starting ${o.workers} worker(s) on the backlog`);
    await stack.startWorkers();
    samplers.start();
  }

  let top = null;
  let lastLog = 0;
  const settled = await waitSettled(db.q, jobIds, o.timeoutS, (done, dead) => {
    if (!top && done >= o.docs / 2) top = topSnapshot();
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`  ${done} complete, ${dead} dead-lettered of ${o.docs}`);
    }
  });
  const wallS = (performance.now() - t0) / 1000;
  const sampled = await samplers.stop();
  log(
    `settled: ${settled.done} complete, ${settled.dead} dead-lettered${settled.timedOut ? ' (TIMED OUT)' : ''} in ${wallS.toFixed(1)} s`,
  );

  await sleep(1200);
  const ownDuringRun = db.ownXacts;
  const after = await dbCounters(db.client);
  const statements = o.pgStatements ? await topStatements(db.client, settled.done || o.docs) : null;
  const metrics = await scrapeStageMetrics(stack ? stack.workers.map((w) => w.url) : workerUrls);
  const a = analyze(await loadEvents(db.q, jobIds));
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
  delta.xact_commit -= ownDuringRun; // the bench's own polling queries

  const throughput = throughputSection({
    o,
    settled,
    uploads,
    uploadS,
    wallS,
    a,
    sampled,
    top,
    delta,
    metrics,
    statements,
  });
  return { throughput, failed: settled.timedOut || settled.dead > 0, delta, wallS };
}

/** Documents a minute between the 10% and the 90% completion (sorted `dones`, ms); null under 20 documents. */
export function steadyDocsPerMinute(dones) {
  if (dones.length < 20) return null;
  const lo = dones[Math.floor(dones.length * 0.1)];
  const hi = dones[Math.floor(dones.length * 0.9)];
  return hi > lo
    ? ((Math.floor(dones.length * 0.9) - Math.floor(dones.length * 0.1)) / ((hi - lo) / 1000)) * 60
    : null;
}

/** The results' `throughput` section from phase 1's measurements (`a`: the events' analysis). */
function throughputSection({
  o,
  settled,
  uploads,
  uploadS,
  wallS,
  a,
  sampled,
  top,
  delta,
  metrics,
  statements,
}) {
  const { usage } = sampled;
  // preload: the workers start on a full backlog, so the span starts at their first claim
  const spanStart = o.preload ? a.first_claim : a.first_confirm;
  const spanS = spanStart !== null && a.last_done !== null ? (a.last_done - spanStart) / 1000 : null;
  const steady = steadyDocsPerMinute(a.dones);
  const n = settled.done || 1;
  return {
    documents: o.docs,
    complete: settled.done,
    deadlettered: settled.dead,
    timed_out: settled.timedOut,
    upload_seconds: Number(uploadS.toFixed(2)),
    upload_post_ms: summarize(uploads.map((u) => u.postMs)),
    upload_put_ms: summarize(uploads.map((u) => u.putMs)),
    span_seconds: spanS === null ? null : Number(spanS.toFixed(2)),
    span: o.preload ? 'first claim -> last complete (preload)' : 'first upload confirmed -> last complete',
    docs_per_minute: spanS ? Number(((settled.done / spanS) * 60).toFixed(0)) : null,
    docs_per_minute_steady_10_90: steady === null ? null : Number(steady.toFixed(0)),
    confirm_to_complete_ms: a.confirm_to_complete_ms,
    pickup_ms: a.pickup_ms,
    work_ms: a.work_ms,
    wait_ms: a.wait_ms,
    claim_span_ms: a.claim_span_ms,
    claims: a.claims,
    transitions_per_doc: a.transitions_per_job,
    retries: a.retries,
    errors: a.errors,
    worker_rss_mib: workerRss(sampled),
    worker_rss_idle_before_mib: sampled.idleRss,
    worker_heap_mib: workerHeap(sampled),
    other_rss_mib: otherRss(sampled),
    cpu: {
      window_s: usage.window_s,
      percent_of_one_core: usage.cpu_percent_of_one_core,
      /** CPU time per completed document, per process (milliseconds); less sensitive to other load than rates */
      ms_per_doc: Object.fromEntries(
        Object.entries(usage.cpu_percent_of_one_core).map(([k, v]) => [
          k,
          v === null ? null : Number((((v / 100) * usage.window_s * 1000) / n).toFixed(1)),
        ]),
      ),
      includes_uploads: !o.preload,
      machine_busy_percent_of_all_cores: usage.machine_busy_percent_of_all_cores,
      other_processes_percent_of_one_core: usage.other_processes_percent_of_one_core,
    },
    top_snapshot_at_half: top,
    database: databaseSection(delta, n, wallS),
    worker_metrics: metrics,
    /** --pg-statements: the statements that took the most execution and planning time, per document (the bench's own left out) */
    pg_statements: statements,
    /** mean number of client backends in each wait state (pg_stat_activity, sampled every 200 ms) */
    pg_backends_by_wait: backendsByWait(sampled),
  };
}

/** The database's work over the run (`delta` of its counters), per document (`n` complete) and per second. */
function databaseSection(delta, n, wallS) {
  return {
    window_s: Number(wallS.toFixed(2)),
    counters_delta: delta,
    commits_per_doc: Number((delta.xact_commit / n).toFixed(2)),
    commits_per_s: Number((delta.xact_commit / wallS).toFixed(1)),
    write_xacts_per_doc: Number((delta.next_xid / n).toFixed(2)),
    write_xacts_per_s: Number((delta.next_xid / wallS).toFixed(1)),
    wal_syncs_per_doc: delta.wal_sync !== undefined ? Number((delta.wal_sync / n).toFixed(2)) : null,
    wal_records_per_doc: delta.wal_records !== undefined ? Number((delta.wal_records / n).toFixed(1)) : null,
    wal_kib_per_doc: delta.wal_bytes !== undefined ? Number((delta.wal_bytes / n / 1024).toFixed(1)) : null,
    rows_inserted_per_doc: Number((delta.tup_inserted / n).toFixed(1)),
    rows_updated_per_doc: Number((delta.tup_updated / n).toFixed(1)),
    note: 'xact_commit counts every committed transaction, read-only ones too (each autocommit SELECT); write_xacts counts transactions that were assigned a transaction id (wrote something; every one is a durable commit); wal_sync counts WAL flushes (after group commit). The bench subtracts its own polling queries (read-only).',
  };
}
