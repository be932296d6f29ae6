#!/usr/bin/env node
// End-to-end benchmark of the ingestion pipeline (DESIGN.md "Targets").
//
//   node tools/bench/bench.mjs [--docs 2000] [--size small|medium|large|max] [--workers 1] [--concurrency 16]
//                              [--latency-ms 0] [--url http://... --database-url postgres://...] [--json out.json]
//
// Needs the built apps (`npx nx run-many -t build`; done here only when dist/apps/<app>/main.js is missing).
// Without --url it starts its own stack: a throwaway embedded PostgreSQL with DURABLE defaults (fsync,
// synchronous_commit, full_page_writes all on: the test clusters' fast settings are NOT used), the
// database migrated, mock-openai and mock-llamaparse (with --latency-ms injected into both), the api and
// N workers, each a process on a free port. Then it:
//   1. uploads --docs generated markdown documents (unique content, POST + PUT, --upload-concurrency at a
//      time) and waits until all are complete: documents/minute from the first upload confirmed to the last
//      complete; per-stage pickup latency (queued -> claimed) and working time from the events table;
//      upload-confirmed -> complete; worker RSS (VmRSS every 200 ms); CPU per process; database commits
//      and WAL flushes per document;
//   2. uploads --probe-docs more, one at a time, on the idle system: confirm -> complete and pickup latency
//      without a backlog;
//   3. measures the server's commit rate (single-row INSERT commits, pgbench when installed) so the
//      pipeline's commits read as a fraction of the physical limit;
//   4. search latency (top-10 over --search-chunks chunks) when the api has POST /api/v2/search.
// Prints a table on stdout (progress on stderr) and writes everything as JSON with --json.
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { SIZES, makeDocument, signToken, upload } from './lib/client.mjs';
import { commitProbe } from './lib/commit-probe.mjs';
import { machineInfo, rssMiB, startSampler, topSnapshot, waitQuiet } from './lib/machine.mjs';
import { searchAvailable, searchBench } from './lib/search.mjs';
import { buildInfo, ensureBuilt, newLogDir, startStack } from './lib/stack.mjs';
import { fmt, mapLimit, percentile, sleep, summarize, table } from './lib/stats.mjs';

const USAGE = `usage: node tools/bench/bench.mjs [options]
  --docs N               documents to ingest (default 2000)
  --size S               small (~1.5 KB, one page) | medium (~24 KB) | large (~240 KB) | max (~24.5 MiB, near the
                         25 MiB upload limit: the worker's memory with the largest documents) (default small)
  --workers N            worker processes (default 1)
  --concurrency N        WORKER_CONCURRENCY of each worker (default 16)
  --claim-batch N        WORKER_CLAIM_BATCH (default: the worker's own, 16)
  --prefetch N           WORKER_PREFETCH, jobs claimed ahead of a free slot (default: the worker's own, 1)
  --poll-interval-ms N   POLL_INTERVAL_MS (default: the worker's own, 1000)
  --worker-pool N        worker DB_POOL_SIZE (default: the worker's own, 20)
  --api-pool N           api DB_POOL_SIZE (default: the api's own, 10)
  --latency-ms N         latency injected into mock-llamaparse and mock-openai (default 0)
  --parser-concurrency N MOCK_LLAMAPARSE_CONCURRENCY: parses at once in the mock (default 64)
  --upload-concurrency N uploads in flight from the client (default 16)
  --preload              upload everything first, then start the workers on the backlog: the workers'
                         drain rate without the uploads competing (throughput: first claim -> last complete)
  --log-level L          LOG_LEVEL of the apps (default info, as deployed)
  --source-maps          start the apps with --enable-source-maps (not as shipped: tools/dev/app-commands.json)
  --worker-node-args=S   extra node flags for the workers (after the shipped ones), e.g. "--worker-node-args=--max-old-space-size=96"
  --cpu-prof             write V8 CPU profiles of every app (mocks included) into the run's log dir
  --pg-statements        load pg_stat_statements and report the statements by execution and planning time a document
                         (adds its own overhead: for finding where PostgreSQL's time goes, not for the figures)
  --wait-quiet S         first wait up to S seconds for the machine to be < 25% busy (default 0)
  --probe-docs N         sequential uploads on the idle system after the run (default 20; 0 = skip)
  --probe-clients LIST   client counts of the commit-rate probe (default 1,16)
  --probe-seconds N      seconds per commit-rate probe (default 5)
  --search-chunks N      chunks to search over when the api has /api/v2/search (default 100000; 0 = skip)
  --search-queries N     search requests to time (default 30; stops after --search-budget-s once 3 are done)
  --search-budget-s N    (default 60)
  --search-timeout-s N   give up on one search request after this long (default 120)
  --timeout-s N          give up waiting for the pipeline after this long (default 900)
  --app-root DIR         run the built apps of another checkout of this repository (its dist/ and its
                         tools/dev/app-commands.json), measured the same way (tools/bench/ab.mjs uses it)
  --url URL              use a running stack's api instead of starting one (needs --database-url;
                         --jwt-secret or $JWT_SECRET; --worker-url for worker RSS; latency is not injected)
  --database-url URL     the running stack's database (or $DATABASE_URL)
  --jwt-secret S         the running stack's JWT_SECRET
  --worker-url URL       a running worker's base URL (repeatable): RSS from its /metrics
  --embedder-url URL     the running stack's embedder (mock-openai) base URL: lets the search phase fill
                         chunks there (e.g. docker-compose, whose PostgreSQL has pgvector)
  --json FILE            write the full results as JSON`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      docs: { type: 'string', default: '2000' },
      size: { type: 'string', default: 'small' },
      workers: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '16' },
      'claim-batch': { type: 'string' },
      prefetch: { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      'worker-pool': { type: 'string' },
      'api-pool': { type: 'string' },
      'latency-ms': { type: 'string', default: '0' },
      'parser-concurrency': { type: 'string', default: '64' },
      'upload-concurrency': { type: 'string', default: '16' },
      preload: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      'source-maps': { type: 'boolean', default: false },
      'worker-node-args': { type: 'string', default: '' },
      'cpu-prof': { type: 'boolean', default: false },
      'pg-statements': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '0' },
      'probe-docs': { type: 'string', default: '20' },
      'probe-clients': { type: 'string', default: '1,16' },
      'probe-seconds': { type: 'string', default: '5' },
      'search-chunks': { type: 'string', default: '100000' },
      'search-queries': { type: 'string', default: '30' },
      'search-budget-s': { type: 'string', default: '60' },
      'search-timeout-s': { type: 'string', default: '120' },
      'timeout-s': { type: 'string', default: '900' },
      url: { type: 'string' },
      'database-url': { type: 'string' },
      'jwt-secret': { type: 'string' },
      'worker-url': { type: 'string', multiple: true, default: [] },
      'embedder-url': { type: 'string' },
      'app-root': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (e) {
  process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const int = (name, min = 0) => {
  const v = args[name];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) {
    process.stderr.write(`bench: --${name} must be a whole number >= ${min}, got "${v}"\n`);
    process.exit(2);
  }
  return Number(v);
};
if (!SIZES[args.size]) {
  process.stderr.write(`bench: --size must be small, medium, large or max\n`);
  process.exit(2);
}
const o = {
  docs: int('docs', 1),
  size: args.size,
  workers: int('workers', 1),
  concurrency: int('concurrency', 1),
  claimBatch: int('claim-batch', 1),
  prefetch: int('prefetch', 0),
  pollIntervalMs: int('poll-interval-ms', 50),
  workerPool: int('worker-pool', 2),
  apiPool: int('api-pool', 1),
  latencyMs: int('latency-ms'),
  parserConcurrency: int('parser-concurrency', 1),
  uploadConcurrency: int('upload-concurrency', 1),
  preload: args.preload,
  logLevel: args['log-level'],
  sourceMaps: args['source-maps'],
  workerNodeArgs: args['worker-node-args'].split(/\s+/).filter(Boolean),
  cpuProf: args['cpu-prof'],
  pgStatements: args['pg-statements'],
  waitQuietS: int('wait-quiet'),
  probeDocs: int('probe-docs'),
  probeClients: args['probe-clients']
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0),
  probeSeconds: int('probe-seconds', 1),
  searchChunks: int('search-chunks'),
  searchQueries: int('search-queries', 1),
  searchBudgetS: int('search-budget-s', 1),
  searchTimeoutS: int('search-timeout-s', 1),
  timeoutS: int('timeout-s', 1),
  // another checkout's built apps (its dist/ and tools/dev/app-commands.json), measured by this benchmark
  appRoot: args['app-root'] ? resolve(args['app-root']) : undefined,
};

const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const runId = randomUUID().slice(0, 8);

// ---------------------------------------------------------------------------------------------- stack
let stack = null;
let apiUrl;
let databaseUrl;
let jwtSecret;
let embedderUrl = null;
const logDir = newLogDir();
if (args.url) {
  apiUrl = args.url.replace(/\/$/, '');
  databaseUrl = args['database-url'] ?? process.env.DATABASE_URL;
  jwtSecret = args['jwt-secret'] ?? process.env.JWT_SECRET ?? 'dev-secret-change-me-0123456789abcdef';
  embedderUrl = args['embedder-url']?.replace(/\/$/, '') ?? null;
  if (!databaseUrl) {
    process.stderr.write(
      'bench: --url needs --database-url (or $DATABASE_URL): the timings come from the events table\n',
    );
    process.exit(2);
  }
  if (o.latencyMs)
    log("note: --latency-ms is not applied to a running stack (set the mocks' MOCK_*_LATENCY_MS yourself)");
} else {
  ensureBuilt(log, o.appRoot);
  if (o.waitQuietS) o.machineBusyBeforePct = await waitQuiet(o.waitQuietS, 25, log);
  if (o.preload && args.url) {
    process.stderr.write('bench: --preload needs the bench to start the stack (no --url)\n');
    process.exit(2);
  }
  if (o.pgStatements && args.url) {
    process.stderr.write('bench: --pg-statements needs the bench to start the stack (no --url)\n');
    process.exit(2);
  }
  log(
    `starting the stack: ${o.workers} worker(s), concurrency ${o.concurrency}, latency ${o.latencyMs} ms (logs in ${logDir})`,
  );
  stack = await startStack({ ...o, deferWorkers: o.preload, logDir, log });
  apiUrl = stack.api.url;
  databaseUrl = stack.databaseUrl;
  jwtSecret = stack.jwtSecret;
  embedderUrl = stack.embedder.url;
}

const cleanup = async () => {
  if (stack) {
    log('stopping the stack');
    await stack.close();
  }
};
// a signal stops the stack too (startStack's own handlers)

const db = new pg.Client({ connectionString: databaseUrl, application_name: 'ingest-bench' });
// the stack's database going away (a signal stops it) ends this client with an error event: not a crash
db.on('error', (e) => log(`database connection: ${e.message}`));
await db.connect();
let ownXacts = 0; // transactions this script causes during the measured window (subtracted from the counts)
const q = async (text, params) => {
  ownXacts++;
  return (await db.query(text, params)).rows;
};

/**
 * The top statements of the window by total execution plus planning time (pg_stat_statements), per document. Both
 * are wall time (lock and I/O waits included), not CPU. The bench's own polling (pg_stat_*, its job-status reads) is
 * left out.
 */
async function topStatements(n, limit = 25) {
  const { rows } = await db.query(
    `SELECT query, calls::bigint AS calls, total_exec_time, total_plan_time, plans::bigint AS plans, rows::bigint AS rows,
            wal_records::bigint AS wal_records
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = current_database()
        AND query !~* 'pg_stat|pg_snapshot|pg_current_snapshot| AS dead FROM '
      ORDER BY total_exec_time + total_plan_time DESC`,
  );
  const total = rows.reduce((t, r) => t + r.total_exec_time, 0);
  const plan = rows.reduce((t, r) => t + r.total_plan_time, 0);
  return {
    note: 'execution and planning time (wall, lock and I/O waits included) per document; calls, plans, rows and WAL records per document',
    exec_ms_per_doc_all: Number((total / n).toFixed(2)),
    plan_ms_per_doc_all: Number((plan / n).toFixed(2)),
    statements: rows.slice(0, limit).map((r) => ({
      query: r.query.replace(/\s+/g, ' ').slice(0, 160),
      calls_per_doc: Number((Number(r.calls) / n).toFixed(2)),
      exec_ms_per_doc: Number((r.total_exec_time / n).toFixed(3)),
      plan_ms_per_doc: Number((r.total_plan_time / n).toFixed(3)),
      plans_per_doc: Number((Number(r.plans) / n).toFixed(2)),
      mean_ms: Number((r.total_exec_time / Math.max(1, Number(r.calls))).toFixed(3)),
      rows_per_doc: Number((Number(r.rows) / n).toFixed(2)),
      wal_records_per_doc: Number((Number(r.wal_records) / n).toFixed(1)),
    })),
  };
}

async function dbCounters() {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const [d] = (
    await db.query(
      `SELECT xact_commit::bigint AS xact_commit, xact_rollback::bigint AS xact_rollback, tup_inserted::bigint AS tup_inserted,
              tup_updated::bigint AS tup_updated, tup_deleted::bigint AS tup_deleted,
              -- the next transaction id: its delta counts write transactions (read-only ones get no xid)
              pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid
       FROM pg_stat_database WHERE datname = current_database()`,
    )
  ).rows;
  let wal = {};
  try {
    [wal] = (
      await db.query(
        `SELECT wal_records::bigint, wal_fpi::bigint, wal_bytes::bigint, wal_write::bigint, wal_sync::bigint FROM pg_stat_wal`,
      )
    ).rows;
  } catch {
    /* PostgreSQL < 14 */
  }
  return Object.fromEntries(Object.entries({ ...d, ...wal }).map(([k, v]) => [k, Number(v)]));
}

async function scrapeRssMiB(url) {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^\w*process_resident_memory_bytes(?:\{[^}]*\})?\s+([\d.e+]+)/m.exec(text);
    return m ? Number(m[1]) / 2 ** 20 : null;
  } catch {
    return null;
  }
}

/** The worker's own memory gauges (prom-client default metrics), MiB: heap used/total, external. */
async function scrapeHeapMiB(url) {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const get = (name) => {
      const m = new RegExp(`^\\w*${name}(?:\\{[^}]*\\})?\\s+([\\d.e+]+)`, 'm').exec(text);
      return m ? Number(m[1]) / 2 ** 20 : null;
    };
    return {
      heap_used: get('nodejs_heap_size_used_bytes'),
      heap_total: get('nodejs_heap_size_total_bytes'),
      external: get('nodejs_external_memory_bytes'),
    };
  } catch {
    return null;
  }
}

/** Stage histograms of the workers' /metrics (sum and count per stage): a cross-check of the events table. */
async function scrapeStageMetrics(urls) {
  const out = {};
  for (const url of urls) {
    let text = '';
    try {
      text = await (await fetch(`${url}/metrics`)).text();
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /^(ingest_stage_(?:pickup|duration)_seconds)_(sum|count)\{([^}]*)\}\s+([\d.e+-]+)/.exec(line);
      if (!m) continue;
      const stage = /stage="([^"]+)"/.exec(m[3])?.[1] ?? '?';
      const key = `${m[1]}|${stage}`;
      out[key] ??= { metric: m[1], stage, sum: 0, count: 0 };
      out[key][m[2]] += Number(m[4]);
    }
  }
  return Object.values(out).map((v) => ({
    ...v,
    mean_ms: v.count ? Number(((1000 * v.sum) / v.count).toFixed(2)) : null,
  }));
}

// ------------------------------------------------------------------------------------ event analysis
async function loadEvents(jobIds) {
  return q(
    `SELECT job_id, event_type, stage, from_stage, from_state, to_state, actor, extract(epoch FROM created_at)::float8 * 1000 AS t
     FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, event_id`,
    [jobIds],
  );
}

/** Per-stage pickup (queued -> claimed), working and waiting times; confirm -> complete per job. */
function analyze(events) {
  const byJob = new Map();
  for (const e of events) {
    if (!byJob.has(e.job_id)) byJob.set(e.job_id, []);
    byJob.get(e.job_id).push(e);
  }
  const pickup = {};
  const work = {};
  const wait = {};
  const claimSpan = {};
  const push = (m, k, v) => (m[k] ??= []).push(v);
  const confirmToDone = [];
  const confirms = [];
  const claims = [];
  const dones = [];
  let retries = 0;
  let errors = 0;
  let transitions = 0;
  for (const evs of byJob.values()) {
    let confirm = null;
    let done = null;
    let claimStart = null;
    transitions += evs.length;
    evs.forEach((e, i) => {
      const prev = evs[i - 1];
      const next = evs[i + 1];
      if (e.from_stage === 'uploaded' && e.stage === 'job_validated' && e.to_state === 'queued')
        confirm = e.t;
      if (e.event_type === 'finalized') done = e.t;
      if (e.event_type === 'retry') retries++;
      if (e.event_type === 'error') errors++;
      if (e.event_type === 'stage_started' && e.to_state === 'working') {
        claimStart = e;
        claims.push(e.t);
        if (prev && prev.to_state === 'queued' && prev.stage === e.stage) push(pickup, e.stage, e.t - prev.t);
      }
      if (e.to_state === 'working' && next) push(work, e.stage, next.t - e.t);
      if (e.to_state === 'waiting' && e.stage !== 'uploaded' && next) push(wait, e.stage, next.t - e.t);
      if (claimStart && e.to_state !== 'working') {
        push(claimSpan, claimStart.stage, e.t - claimStart.t);
        claimStart = null;
      }
    });
    if (confirm !== null) confirms.push(confirm);
    if (done !== null) dones.push(done);
    if (confirm !== null && done !== null) confirmToDone.push(done - confirm);
  }
  const per = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summarize(v, 2)]));
  // claim transactions: stage_started rows of one worker with the same transaction time (now()) are one claim
  const claimTx = new Map();
  for (const e of events) {
    if (e.event_type !== 'stage_started' || e.to_state !== 'working') continue;
    const key = `${e.actor}|${e.t}`;
    claimTx.set(key, (claimTx.get(key) ?? 0) + 1);
  }
  const byWorker = new Map();
  for (const key of claimTx.keys()) {
    const [actor, t] = key.split('|');
    if (!byWorker.has(actor)) byWorker.set(actor, []);
    byWorker.get(actor).push(Number(t));
  }
  const gaps = [];
  for (const ts of byWorker.values()) {
    ts.sort((x, y) => x - y);
    for (let i = 1; i < ts.length; i++) gaps.push(ts[i] - ts[i - 1]);
  }
  const spanTotal = Object.values(claimSpan)
    .flat()
    .reduce((x, y) => x + y, 0);
  const windowMs = dones.length && claims.length ? Math.max(...dones) - Math.min(...claims) : null;
  dones.sort((a, b) => a - b);
  confirms.sort((a, b) => a - b);
  return {
    jobs: byJob.size,
    transitions_per_job: byJob.size ? Number((transitions / byJob.size).toFixed(2)) : null,
    retries,
    errors,
    first_confirm: confirms[0] ?? null,
    first_claim: claims.length ? Math.min(...claims) : null,
    last_done: dones[dones.length - 1] ?? null,
    dones,
    pickup_ms: per(pickup),
    work_ms: per(work),
    wait_ms: per(wait),
    claim_span_ms: per(claimSpan),
    confirm_to_complete_ms: summarize(confirmToDone, 1),
    claims: {
      transactions: claimTx.size,
      jobs_per_transaction: claimTx.size
        ? Number(([...claimTx.values()].reduce((x, y) => x + y, 0) / claimTx.size).toFixed(2))
        : null,
      gap_between_claims_of_a_worker_ms: summarize(gaps, 2),
      /** jobs in workers' hands on average over first claim -> last complete (all workers together; jobs claimed ahead count) */
      mean_jobs_in_hand: windowMs ? Number((spanTotal / windowMs).toFixed(2)) : null,
    },
  };
}

async function waitSettled(jobIds, timeoutS, onProgress) {
  const until = Date.now() + timeoutS * 1000;
  for (;;) {
    const rows = await q(
      `SELECT count(*) FILTER (WHERE state = 'done')::int AS done, count(*) FILTER (WHERE state = 'deadletter')::int AS dead
       FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
      [jobIds],
    );
    const { done, dead } = rows[0];
    onProgress?.(done, dead);
    if (done + dead >= jobIds.length) return { done, dead, timedOut: false };
    if (Date.now() > until) return { done, dead, timedOut: true };
    await sleep(250);
  }
}

// ------------------------------------------------------------------------------------------- the run
const results = {
  benchmark: 'ingest pipeline end-to-end',
  started_at: new Date().toISOString(),
  machine: machineInfo(),
  settings: {
    ...o,
    mode: stack ? 'own stack (embedded PostgreSQL, durable defaults)' : `running stack at ${apiUrl}`,
    doc_bytes_target: SIZES[o.size],
    postgres: stack ? { version: stack.serverVersion, ...stack.pgSettings } : null,
    app_log_dir: stack ? logDir : null,
    builds: stack ? buildInfo(o.appRoot) : null,
  },
};
let exitCode = 0;
try {
  const userId = randomUUID();
  const token = signToken(jwtSecret, userId);
  log(`generating ${o.docs} ${o.size} documents`);
  const docs = Array.from({ length: o.docs }, (_, i) => makeDocument(runId, i, SIZES[o.size]));
  results.settings.doc_bytes_mean = Math.round(docs.reduce((n, d) => n + d.length, 0) / docs.length);

  await sleep(1500); // let the backends flush their statistics (they do so at most once a second)
  const before = await dbCounters();
  if (o.pgStatements) await db.query('SELECT pg_stat_statements_reset()');
  ownXacts = 0;
  let sampler = null;
  let idleRss = {};
  let remoteTimer = null;
  let heapTimer = null;
  // where the database's backends spend their time: pg_stat_activity wait events, sampled every 200 ms
  const waits = new Map();
  let waitSamples = 0;
  const waitDb = new pg.Client({ connectionString: databaseUrl, application_name: 'ingest-bench-waits' });
  waitDb.on('error', (e) => log(`database connection (wait sampler): ${e.message}`));
  await waitDb.connect();
  let waitTimer = null;
  let waitBusy = false;
  const heap = new Map();
  const remoteRss = new Map(args['worker-url'].map((u) => [u, []]));
  const startSampling = () => {
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
      ownXacts++;
      waitDb
        .query(
          `SELECT CASE WHEN state = 'idle' THEN 'idle connection'
                       WHEN state LIKE 'idle in transaction%' THEN 'idle in transaction (waiting for the app)'
                       ELSE coalesce(wait_event_type || ':' || wait_event, 'running (CPU)') END AS w, count(*)::int AS n
           FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'
             AND application_name NOT LIKE 'ingest-bench%' GROUP BY 1`,
        )
        .then(({ rows }) => {
          waitSamples++;
          for (const r of rows) waits.set(r.w, (waits.get(r.w) ?? 0) + r.n);
        })
        .catch(() => undefined)
        .finally(() => (waitBusy = false));
    }, 200);
    const heapUrls = stack
      ? stack.workers.map((w) => [w.name, w.url])
      : args['worker-url'].map((u) => [u, u]);
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
  if (!o.preload) startSampling();

  log(`uploading ${o.docs} documents (${o.uploadConcurrency} at a time)`);
  const t0 = performance.now();
  const uploads = await mapLimit(docs, o.uploadConcurrency, (bytes, i) =>
    upload(apiUrl, token, `bench-${runId}-${i}.md`, bytes),
  );
  const uploadS = (performance.now() - t0) / 1000;
  const jobIds = uploads.map((u) => u.jobId);
  log(
    `uploaded in ${uploadS.toFixed(1)} s (${(o.docs / uploadS).toFixed(0)} docs/s); waiting for the pipeline`,
  );
  if (o.preload) {
    log(`preload: starting ${o.workers} worker(s) on the backlog`);
    await stack.startWorkers();
    startSampling();
  }

  let top = null;
  let lastLog = 0;
  const settled = await waitSettled(jobIds, o.timeoutS, (done, dead) => {
    if (!top && done >= o.docs / 2) top = topSnapshot();
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`  ${done} complete, ${dead} dead-lettered of ${o.docs}`);
    }
  });
  const wallS = (performance.now() - t0) / 1000;
  const usage = sampler.stop();
  if (remoteTimer) clearInterval(remoteTimer);
  if (heapTimer) clearInterval(heapTimer);
  if (waitTimer) clearInterval(waitTimer);
  while (waitBusy) await sleep(20);
  await waitDb.end().catch(() => undefined);
  log(
    `settled: ${settled.done} complete, ${settled.dead} dead-lettered${settled.timedOut ? ' (TIMED OUT)' : ''} in ${wallS.toFixed(1)} s`,
  );
  if (settled.timedOut || settled.dead) exitCode = 1;

  await sleep(1200);
  const ownDuringRun = ownXacts;
  const after = await dbCounters();
  const statements = o.pgStatements ? await topStatements(settled.done || o.docs) : null;
  const metrics = stack
    ? await scrapeStageMetrics(stack.workers.map((w) => w.url))
    : await scrapeStageMetrics(args['worker-url']);
  const a = analyze(await loadEvents(jobIds));
  // preload: the workers start on a full backlog, so the span starts at their first claim
  const spanStart = o.preload ? a.first_claim : a.first_confirm;
  const spanS = spanStart !== null && a.last_done !== null ? (a.last_done - spanStart) / 1000 : null;
  const steady = (() => {
    const d = a.dones;
    if (d.length < 20) return null;
    const lo = d[Math.floor(d.length * 0.1)];
    const hi = d[Math.floor(d.length * 0.9)];
    return hi > lo
      ? ((Math.floor(d.length * 0.9) - Math.floor(d.length * 0.1)) / ((hi - lo) / 1000)) * 60
      : null;
  })();
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
  delta.xact_commit -= ownDuringRun; // the bench's own polling queries
  const n = settled.done || 1;
  const rssPer = {};
  for (const [name, s] of Object.entries(usage.rss_samples_mib)) {
    if (!name.startsWith('worker')) continue;
    rssPer[name] = {
      max: Number(Math.max(...s).toFixed(1)),
      p50: Number(percentile(s, 50).toFixed(1)),
      samples: s.length,
    };
  }
  for (const [u, s] of remoteRss)
    if (s.length)
      rssPer[u] = {
        max: Number(Math.max(...s).toFixed(1)),
        p50: Number(percentile(s, 50).toFixed(1)),
        samples: s.length,
      };
  const otherRss = {};
  for (const [name, s] of Object.entries(usage.rss_samples_mib)) {
    if (!name.startsWith('worker') && s.length) otherRss[name] = { max: Number(Math.max(...s).toFixed(1)) };
  }

  results.throughput = {
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
    worker_rss_mib: rssPer,
    worker_rss_idle_before_mib: idleRss,
    worker_heap_mib: Object.fromEntries(
      [...heap].map(([k, v]) => [
        k,
        Object.fromEntries(Object.entries(v).map(([a, b]) => [a, Number(b.toFixed(1))])),
      ]),
    ),
    other_rss_mib: otherRss,
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
    database: {
      window_s: Number(wallS.toFixed(2)),
      counters_delta: delta,
      commits_per_doc: Number((delta.xact_commit / n).toFixed(2)),
      commits_per_s: Number((delta.xact_commit / wallS).toFixed(1)),
      write_xacts_per_doc: Number((delta.next_xid / n).toFixed(2)),
      write_xacts_per_s: Number((delta.next_xid / wallS).toFixed(1)),
      wal_syncs_per_doc: delta.wal_sync !== undefined ? Number((delta.wal_sync / n).toFixed(2)) : null,
      wal_records_per_doc:
        delta.wal_records !== undefined ? Number((delta.wal_records / n).toFixed(1)) : null,
      wal_kib_per_doc: delta.wal_bytes !== undefined ? Number((delta.wal_bytes / n / 1024).toFixed(1)) : null,
      rows_inserted_per_doc: Number((delta.tup_inserted / n).toFixed(1)),
      rows_updated_per_doc: Number((delta.tup_updated / n).toFixed(1)),
      note: 'xact_commit counts every committed transaction, read-only ones too (each autocommit SELECT); write_xacts counts transactions that were assigned a transaction id (wrote something; every one is a durable commit); wal_sync counts WAL flushes (after group commit). The bench subtracts its own polling queries (read-only).',
    },
    worker_metrics: metrics,
    /** --pg-statements: the statements that took the most execution and planning time, per document (the bench's own left out) */
    pg_statements: statements,
    /** mean number of client backends in each wait state (pg_stat_activity, sampled every 200 ms) */
    pg_backends_by_wait: Object.fromEntries(
      [...waits]
        .sort((x, y) => y[1] - x[1])
        .map(([k, v]) => [k, Number((v / Math.max(1, waitSamples)).toFixed(2))]),
    ),
  };

  // ---------------------------------------------------------------------------- idle latency probe
  if (o.probeDocs > 0) {
    log(`latency probe: ${o.probeDocs} documents one at a time on the idle system`);
    const ids = [];
    for (let i = 0; i < o.probeDocs; i++) {
      const bytes = makeDocument(`${runId}-probe`, o.docs + i, SIZES[o.size]);
      const u = await upload(apiUrl, token, `bench-${runId}-probe-${i}.md`, bytes);
      ids.push(u.jobId);
      const s = await waitSettled([u.jobId], 60);
      if (s.dead || s.timedOut) exitCode = 1;
    }
    const p = analyze(await loadEvents(ids));
    results.idle_probe = {
      documents: o.probeDocs,
      confirm_to_complete_ms: p.confirm_to_complete_ms,
      pickup_ms: p.pickup_ms,
      work_ms: p.work_ms,
      wait_ms: p.wait_ms,
      claim_span_ms: p.claim_span_ms,
    };
  }

  // ----------------------------------------------------------------------------- commit-rate probe
  if (o.probeClients.length) {
    log(`commit-rate probe: ${o.probeClients.join(', ')} client(s), ${o.probeSeconds} s each`);
    results.commit_probe = await commitProbe(databaseUrl, o.probeClients, o.probeSeconds);
    const best = Math.max(...results.commit_probe.results.map((r) => r.commits_per_s));
    const db0 = results.throughput.database;
    const walPerS = delta.wal_sync !== undefined ? delta.wal_sync / wallS : null;
    results.commit_probe.pipeline_share = {
      best_probe_commits_per_s: best,
      pipeline_write_xacts_per_s: db0.write_xacts_per_s,
      pipeline_write_xacts_fraction_of_probe: Number((db0.write_xacts_per_s / best).toFixed(3)),
      pipeline_all_commits_per_s: db0.commits_per_s,
      pipeline_wal_syncs_per_s: walPerS === null ? null : Number(walPerS.toFixed(1)),
      // if every write transaction of a document cost one probe commit: the database's ceiling
      docs_per_minute_ceiling_at_probe_rate: db0.write_xacts_per_doc
        ? Number(((best / db0.write_xacts_per_doc) * 60).toFixed(0))
        : null,
    };
  }

  // ---------------------------------------------------------------------------------------- search
  if (o.searchChunks > 0) {
    if (!(await searchAvailable(apiUrl, token))) {
      results.search = { measured: false, reason: 'not measured: no /api/v2/search' };
    } else if (!embedderUrl) {
      results.search = {
        measured: false,
        reason:
          "not measured: --url mode without --embedder-url (the chunks are embedded by the stack's embedder)",
      };
    } else {
      const searchUser = randomUUID();
      results.search = {
        measured: true,
        ...(await searchBench({
          db,
          apiUrl,
          embedderUrl,
          token: signToken(jwtSecret, searchUser),
          userId: searchUser,
          chunks: o.searchChunks,
          queries: o.searchQueries,
          budgetS: o.searchBudgetS,
          timeoutS: o.searchTimeoutS,
          runId,
          log,
        })),
      };
    }
  } else {
    results.search = { measured: false, reason: 'skipped (--search-chunks 0)' };
  }
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  results.error = String(e.message ?? e);
  exitCode = 1;
} finally {
  await db.end().catch(() => undefined);
  await cleanup();
}

results.finished_at = new Date().toISOString();
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
printReport(results);
process.exit(exitCode);

// --------------------------------------------------------------------------------------------- report
function printReport(r) {
  const out = [];
  const m = r.machine;
  out.push(
    `machine: ${m.cpu_model}, ${m.cores} cores, ${m.memory_mb} MiB, node ${m.node}, load ${m.loadavg_at_start.join(' ')}`,
  );
  const s = r.settings;
  out.push(
    `settings: ${s.docs} ${s.size} docs (~${s.doc_bytes_mean ?? s.doc_bytes_target} B), ${s.workers} worker(s) x concurrency ${s.concurrency}` +
      `, claim batch ${s.claimBatch ?? 'default'}, prefetch ${s.prefetch ?? 'default'}, latency ${s.latencyMs} ms, parser concurrency ${s.parserConcurrency}, uploads ${s.uploadConcurrency} at a time, log ${s.logLevel}` +
      `${s.sourceMaps ? ', with --enable-source-maps' : ''}${s.workerNodeArgs?.length ? `, worker node ${s.workerNodeArgs.join(' ')}` : ''}`,
  );
  if (s.postgres)
    out.push(
      `postgres ${s.postgres.version}: fsync=${s.postgres.fsync} synchronous_commit=${s.postgres.synchronous_commit} full_page_writes=${s.postgres.full_page_writes} shared_buffers=${s.postgres.shared_buffers}x8kB`,
    );
  if (r.error) out.push(`ERROR: ${r.error}`);
  const t = r.throughput;
  if (t) {
    const rss = Object.values(t.worker_rss_mib);
    const rssMax = rss.length ? Math.max(...rss.map((x) => x.max)) : null;
    const pick = (x) => x?.p50 ?? null;
    const idle = r.idle_probe;
    const ok = (v, target, higher = false) =>
      v === null || v === undefined ? 'n/a' : (higher ? v >= target : v <= target) ? 'met' : 'MISSED';
    out.push('', 'targets (DESIGN.md):');
    const rows = [['target', 'goal', 'measured', 'verdict']];
    rows.push([
      `throughput, docs/min (${t.span})`,
      '>= 3000',
      fmt(t.docs_per_minute, 0),
      s.workers === 1 && s.size === 'small' && !s.latencyMs
        ? ok(t.docs_per_minute, 3000, true)
        : 'n/a (not 1 worker/small/0 ms)',
    ]);
    rows.push(['  steady state (10%..90% of completions)', '', fmt(t.docs_per_minute_steady_10_90, 0), '']);
    const idlePick = idle
      ? Math.max(
          ...Object.values(idle.pickup_ms)
            .map(pick)
            .filter((v) => v !== null),
        )
      : null;
    rows.push(['stage pickup p50, ms (idle, worst stage)', '<= 25', fmt(idlePick, 1), ok(idlePick, 25)]);
    rows.push([
      'confirm -> complete p50, ms (idle, one page)',
      '<= 1000',
      fmt(idle?.confirm_to_complete_ms.p50, 0),
      s.size === 'small' ? ok(idle?.confirm_to_complete_ms.p50, 1000) : 'n/a',
    ]);
    rows.push([
      "confirm -> complete p50, ms (under the run's backlog)",
      '',
      fmt(t.confirm_to_complete_ms.p50, 0),
      '',
    ]);
    // DESIGN.md says 150 MB: 150e6 bytes = 143.05 MiB (the RSS is measured in MiB)
    rows.push(['worker RSS max, MiB (150 MB = 143.05 MiB)', '<= 143.05', fmt(rssMax, 1), ok(rssMax, 150e6 / 2 ** 20)]);
    const sr = r.search;
    rows.push([
      'search top-10 p50, ms (pgvector)',
      '<= 50',
      sr?.measured
        ? sr.latency_ms.n
          ? `${fmt(sr.latency_ms.p50, 1)} (${sr.storage}, ${sr.chunks} chunks)`
          : `no answer in ${sr.first_query_ms} ms (${sr.storage}, ${sr.chunks} chunks)`
        : '-',
      sr?.measured
        ? sr.storage === 'pgvector'
          ? ok(sr.latency_ms.p50, 50)
          : 'n/a: no pgvector here (real[] exact scan)'
        : (sr?.reason ?? 'n/a'),
    ]);
    rows.push(['2 workers >= 1.8x 1 worker at 100 ms', '>= 1.8x', 'compare two runs', '']);
    rows.push(['POST /api/v2/upload >= 1000 req/s, p99 <= 50 ms', '', 'see http-load.mjs', '']);
    out.push(table(rows));

    out.push(
      '',
      `pipeline: ${t.complete}/${t.documents} complete, ${t.deadlettered} dead-lettered, ${t.retries} retries; uploads took ${t.upload_seconds} s ` +
        `(POST p50 ${fmt(t.upload_post_ms.p50)} ms p99 ${fmt(t.upload_post_ms.p99)} ms, PUT p50 ${fmt(t.upload_put_ms.p50)} ms p99 ${fmt(t.upload_put_ms.p99)} ms)`,
    );
    out.push(
      `confirm -> complete under load: p50 ${fmt(t.confirm_to_complete_ms.p50, 0)} p95 ${fmt(t.confirm_to_complete_ms.p95, 0)} p99 ${fmt(t.confirm_to_complete_ms.p99, 0)} ms`,
    );
    if (idle)
      out.push(
        `confirm -> complete idle:       p50 ${fmt(idle.confirm_to_complete_ms.p50, 0)} p95 ${fmt(idle.confirm_to_complete_ms.p95, 0)} p99 ${fmt(idle.confirm_to_complete_ms.p99, 0)} ms`,
      );

    const stages = [
      ...new Set([...Object.keys(t.pickup_ms), ...Object.keys(t.work_ms), ...Object.keys(t.wait_ms)]),
    ];
    const order = [
      'job_validated',
      'parse_queued',
      'parsing',
      'parsed',
      'parse_validated',
      'chunking',
      'chunks_stored',
      'embedding_queued',
      'embedding_in_progress',
      'embeddings_stored',
    ];
    stages.sort((x, y) => order.indexOf(x) - order.indexOf(y));
    const srow = (label, v) => [label, fmt(v?.p50, 1), fmt(v?.p95, 1), fmt(v?.p99, 1), v?.n ?? '-'];
    const st = [['per stage, ms (under load)', 'p50', 'p95', 'p99', 'n']];
    for (const stg of stages) {
      if (t.pickup_ms[stg]) st.push(srow(`${stg}: pickup (queued -> claimed)`, t.pickup_ms[stg]));
      if (t.work_ms[stg]) st.push(srow(`${stg}: working`, t.work_ms[stg]));
      if (t.wait_ms[stg]) st.push(srow(`${stg}: waiting (parser + webhook)`, t.wait_ms[stg]));
    }
    for (const [stg, v] of Object.entries(t.claim_span_ms))
      st.push(srow(`one claim from ${stg} (held by the worker)`, v));
    out.push('', table(st));
    if (idle) {
      const it = [['per stage, ms (idle probe)', 'p50', 'p95', 'p99', 'n']];
      for (const stg of stages) {
        if (idle.pickup_ms[stg]) it.push(srow(`${stg}: pickup`, idle.pickup_ms[stg]));
        if (idle.work_ms[stg]) it.push(srow(`${stg}: working`, idle.work_ms[stg]));
        if (idle.wait_ms[stg]) it.push(srow(`${stg}: waiting`, idle.wait_ms[stg]));
      }
      out.push('', table(it));
    }

    const d = t.database;
    out.push(
      '',
      `database over the run (${d.window_s} s): ${d.commits_per_doc} commits/doc (${d.commits_per_s}/s) of which ${d.write_xacts_per_doc} write transactions/doc (${d.write_xacts_per_s}/s), ${d.wal_syncs_per_doc} WAL flushes/doc, ` +
        `${d.wal_records_per_doc} WAL records/doc, ${d.wal_kib_per_doc} KiB WAL/doc, ${d.rows_inserted_per_doc} rows inserted/doc, ${d.rows_updated_per_doc} updated/doc, ${t.transitions_per_doc} transitions/doc`,
    );
    if (r.commit_probe) {
      out.push(
        `commit probe (${r.commit_probe.tool}): ${r.commit_probe.results.map((x) => `${x.clients} client(s) ${x.commits_per_s}/s`).join(', ')}; ` +
          `the pipeline's write transactions ran at ${fmt(100 * r.commit_probe.pipeline_share.pipeline_write_xacts_fraction_of_probe, 1)}% of the best; ` +
          `ceiling at that rate ${fmt(r.commit_probe.pipeline_share.docs_per_minute_ceiling_at_probe_rate, 0)} docs/min`,
      );
    }
    const cpu = Object.entries(t.cpu.percent_of_one_core)
      .map(([k, v]) => `${k} ${fmt(v, 0)}%`)
      .join(', ');
    const perDoc = Object.entries(t.cpu.ms_per_doc)
      .map(([k, v]) => `${k} ${fmt(v, 1)}`)
      .join(', ');
    out.push(
      `CPU ms per document${t.cpu.includes_uploads ? ' (uploads included)' : ' (processing only)'}: ${perDoc}`,
    );
    out.push(
      `CPU over ${t.cpu.window_s} s (% of one core): ${cpu}; machine busy ${t.cpu.machine_busy_percent_of_all_cores}% of all cores; other processes ${t.cpu.other_processes_percent_of_one_core}%`,
    );
    out.push(
      `worker RSS MiB: ${Object.entries(t.worker_rss_mib)
        .map(
          ([k, v]) =>
            `${k} max ${v.max} p50 ${v.p50} (idle before the run ${t.worker_rss_idle_before_mib[k] ?? '-'})`,
        )
        .join(', ')}`,
    );
    out.push(
      `claims: ${t.claims.transactions} claim transactions, ${t.claims.jobs_per_transaction} jobs each, gap between a worker's claims p50 ${fmt(t.claims.gap_between_claims_of_a_worker_ms.p50)} ms; mean jobs in hand ${t.claims.mean_jobs_in_hand} for ${s.workers * s.concurrency} slots (jobs claimed ahead included)`,
    );
    out.push(
      `PostgreSQL client backends by wait state (mean count): ${Object.entries(t.pg_backends_by_wait)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    out.push(
      `worker V8 memory MiB (max over 1 s scrapes of /metrics): ${
        Object.entries(t.worker_heap_mib)
          .map(
            ([k, v]) =>
              `${k} heap used ${v.heap_used_max} / total ${v.heap_total_max}, external ${v.external_max}`,
          )
          .join('; ') || '-'
      }`,
    );
  }
  if (t?.pg_statements) {
    const ps = t.pg_statements;
    out.push(
      '',
      `PostgreSQL statements by execution + planning time a document (pg_stat_statements; all: ${ps.exec_ms_per_doc_all} ms executing, ${ps.plan_ms_per_doc_all} ms planning a document)`,
    );
    out.push(
      table([
        ['exec ms/doc', 'plan ms/doc', 'calls/doc', 'plans/doc', 'mean exec ms', 'rows/doc', 'WAL rec/doc', 'statement'],
        ...ps.statements.map((x) => [
          x.exec_ms_per_doc,
          x.plan_ms_per_doc,
          x.calls_per_doc,
          x.plans_per_doc,
          x.mean_ms,
          x.rows_per_doc,
          x.wal_records_per_doc,
          x.query.slice(0, 100),
        ]),
      ]),
    );
  }
  if (r.search) {
    const sr = r.search;
    out.push(
      sr.measured && !sr.latency_ms.n
        ? `search (${sr.storage}, ${sr.chunks} chunks): ${sr.note} (${sr.first_query_ms} ms)`
        : sr.measured
          ? `search (${sr.storage}, ${sr.chunks} chunks, top ${sr.top_k}): p50 ${fmt(sr.latency_ms.p50)} p95 ${fmt(sr.latency_ms.p95)} p99 ${fmt(sr.latency_ms.p99)} ms over ${sr.latency_ms.n} queries (query embedding alone p50 ${fmt(sr.query_embedding_ms.p50)} ms)`
          : `search: ${sr.reason}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
