#!/usr/bin/env node
// HTTP load on the api with autocannon: POST /api/v2/upload (a unique body and sha256 on every request)
// and GET /api/v2/jobs/:id (jobs of the caller), as JSON and a table. DESIGN.md target: an upload POST
// <= 0.5 ms of api CPU (>= 2,000 req/s on one core), p99 <= 50 ms.
//
//   node tools/bench/http-load.mjs [--connections 32] [--duration 15] [--rate 1000] [--api-processes 2] [--json out.json]
//                                  [--url http://api --jwt-secret S [--database-url postgres://...]]
//
// Without --url it starts its own stack (as bench.mjs: embedded PostgreSQL with durable defaults, the
// built apps, no worker: uploads without their PUT never reach one). Phases, each after a short warm-up:
//   upload-max    closed loop, --connections in flight: the most req/s the api gives
//   upload-rate   --rate req/s offered, open loop (lib/open-loop.mjs: sent at a constant rate, each latency counted
//                 from when the request was due): the latency at the target load. Not autocannon's overallRate,
//                 which sends each second's budget back to back and then pauses (a 64-connection closed loop)
//   job-get-max   GET /api/v2/jobs/:id over jobs created beforehand, closed loop
// autocannon runs in this process, on the same machine: its CPU is reported with the api's and PostgreSQL's.
// With --api-processes N > 1 the api is a node:cluster primary and N processes (API_PROCESSES): its CPU and RSS
// are theirs summed.
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { signToken } from './lib/client.mjs';
import { openLoop } from './lib/open-loop.mjs';
import { machineInfo, startSampler, waitQuiet } from './lib/machine.mjs';
import { buildInfo, ensureBuilt, newLogDir, startStack } from './lib/stack.mjs';
import { fmt, mapLimit, sleep, table } from './lib/stats.mjs';

const USAGE = `usage: node tools/bench/http-load.mjs [options]
  --connections N   connections of the closed-loop phases (default 32)
  --duration S      seconds per phase (default 15)
  --warmup S        seconds of warm-up before each phase, not counted (default 3)
  --rate N          offered req/s of the upload-rate phase, open loop (default 1000; 0 = skip the phase)
  --rate-connections N  most connections of the upload-rate phase (default 64; a request due while all are busy waits)
  --jobs N          jobs created for the GET phase (default 500; 0 = skip the phase)
  --put             also an upload-put-max phase: each loop a POST and then the PUT of its bytes to the signed URL
                    (the api's local storage receives them), closed loop: the api's CPU a document against a POST alone
  --api-processes N API_PROCESSES of the api this script starts (default 1): N > 1 runs N processes on its port
                    (a node:cluster primary forks them); its CPU and RSS are then the primary's and theirs summed
  --log-level L     LOG_LEVEL of the apps when this script starts them (default info)
  --cpu-prof        write a V8 CPU profile of the api into the run's log dir
  --perf-map        start the apps with --perf-basic-prof-only-functions (see tools/bench/perf-summary.mjs)
  --wait-quiet S    first wait up to S seconds for the machine to be < 25% busy (default 0)
  --url URL         a running api instead of starting a stack (its upload rate limit must allow the load)
  --jwt-secret S    the running api's JWT_SECRET (or $JWT_SECRET)
  --database-url U  optional with --url: database counters per request
  --app-root DIR    run the built apps of another checkout (its dist/ and tools/dev/app-commands.json), as bench.mjs does
  --json FILE       write the results as JSON`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      connections: { type: 'string', default: '32' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      rate: { type: 'string', default: '1000' },
      'rate-connections': { type: 'string', default: '64' },
      jobs: { type: 'string', default: '500' },
      put: { type: 'boolean', default: false },
      'api-processes': { type: 'string', default: '1' },
      'log-level': { type: 'string', default: 'info' },
      'cpu-prof': { type: 'boolean', default: false },
      'perf-map': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '0' },
      url: { type: 'string' },
      'jwt-secret': { type: 'string' },
      'database-url': { type: 'string' },
      'app-root': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (e) {
  process.stderr.write(`http-load: ${e.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
for (const k of ['connections', 'duration', 'warmup', 'rate', 'rate-connections', 'jobs', 'wait-quiet', 'api-processes']) {
  if (!/^\d+$/.test(args[k])) {
    process.stderr.write(`http-load: --${k} must be a whole number\n`);
    process.exit(2);
  }
}
if (Number(args['api-processes']) < 1 || (args.url && Number(args['api-processes']) !== 1)) {
  process.stderr.write('http-load: --api-processes must be >= 1, and applies to the api this script starts (not with --url)\n');
  process.exit(2);
}
const o = {
  connections: Number(args.connections),
  duration: Number(args.duration),
  warmup: Number(args.warmup),
  rate: Number(args.rate),
  rateConnections: Number(args['rate-connections']),
  jobs: Number(args.jobs),
  put: args.put,
  apiProcesses: Number(args['api-processes']),
  logLevel: args['log-level'],
  cpuProf: args['cpu-prof'],
  perfMap: args['perf-map'],
  waitQuietS: Number(args['wait-quiet']),
};
const log = (m) => process.stderr.write(`[http-load ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Another checkout whose built apps run (--app-root), or undefined for this one's. */
const appRoot = args['app-root'] ? resolve(args['app-root']) : undefined;
let stack = null;
let apiUrl;
let jwtSecret;
let databaseUrl = args['database-url'] ?? null;
if (args.url) {
  apiUrl = args.url.replace(/\/$/, '');
  jwtSecret = args['jwt-secret'] ?? process.env.JWT_SECRET ?? 'dev-secret-change-me-0123456789abcdef';
} else {
  if (!appRoot) ensureBuilt(log);
  if (o.waitQuietS) o.machineBusyBeforePct = await waitQuiet(o.waitQuietS, 25, log);
  const logDir = newLogDir();
  log(`starting the stack (logs in ${logDir})`);
  stack = await startStack({
    appRoot,
    workers: 0,
    latencyMs: 0,
    parserConcurrency: 4,
    apiProcesses: o.apiProcesses,
    logLevel: o.logLevel,
    cpuProf: o.cpuProf,
    perfMap: o.perfMap,
    logDir,
    log,
  });
  apiUrl = stack.api.url;
  jwtSecret = stack.jwtSecret;
  databaseUrl = stack.databaseUrl;
}
const db = databaseUrl ? new pg.Client({ connectionString: databaseUrl }) : null;
db?.on('error', (e) => log(`database connection: ${e.message}`));
await db?.connect();

async function xids() {
  if (!db) return null;
  await sleep(1100); // backends flush statistics at most once a second
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query(
    `SELECT xact_commit::bigint AS commits, pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  return { commits: Number(rows[0].commits), next_xid: Number(rows[0].next_xid) };
}

const prefix = randomUUID();
let counter = 0;
/** Each connection is one user (so per-user limits and indexes see many users); each request new bytes. */
const users = Array.from({ length: Math.max(o.connections, o.rateConnections) }, () => signToken(jwtSecret));
let nextUser = 0;
/** The upload POST of a connection's user (`context.token`) for a file of `bytesLen` bytes and that sha256. */
function uploadPost(req, context, filename, bytesLen, sha256) {
  context.token ??= users[nextUser++ % users.length];
  return {
    ...req,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${context.token}` },
    body: JSON.stringify({ filename, bytes_len: bytesLen, mime: 'text/markdown', sha256 }),
  };
}
/** The next upload POST (a new file name and sha256 each time) of the connection's user. */
function nextUpload(req, context) {
  const n = counter++;
  return uploadPost(req, context, `load-${n}.md`, 1500, createHash('sha256').update(`${prefix}-${n}`).digest('hex'));
}
const uploadRequest = { method: 'POST', path: '/api/v2/upload', setupRequest: nextUpload };
/** The open loop's i-th upload POST: the users in turn. */
const openLoopUpload = (i) => nextUpload({ method: uploadRequest.method, path: uploadRequest.path }, { token: users[i % users.length] });

/** POST then PUT: the document's bytes (1,500, unique) go to the signed URL the POST answered (same host). */
const PUT_BYTES = 1500;
const putBytes = (n) => Buffer.alloc(PUT_BYTES, `${prefix}-put-${n} `);
const uploadPutRequests = [
  {
    method: 'POST',
    path: '/api/v2/upload',
    setupRequest(req, context) {
      context.n = counter++;
      return uploadPost(req, context, `put-${context.n}.md`, PUT_BYTES, createHash('sha256').update(putBytes(context.n)).digest('hex'));
    },
    onResponse(status, body, context) {
      context.upload = status === 201 ? JSON.parse(body) : null;
    },
  },
  {
    method: 'PUT',
    setupRequest(req, context) {
      if (!context.upload) throw new Error('upload-put: the POST did not answer 201');
      const url = new URL(context.upload.signed_url);
      return { ...req, path: `${url.pathname}${url.search}`, headers: context.upload.upload_headers, body: putBytes(context.n) };
    },
  },
];

function run(opts) {
  return new Promise((resolve, reject) => {
    const inst = autocannon({ url: apiUrl, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
    autocannon.track(inst, {
      renderProgressBar: false,
      renderResultsTable: false,
      renderLatencyTable: false,
      outputStream: process.stderr,
    });
  });
}

/** Runs a phase's load: autocannon, or with `opts.openLoop` a constant rate (lib/open-loop.mjs). */
function load(opts) {
  if (!opts.openLoop) return run(opts);
  return openLoop({ url: apiUrl, rate: opts.openLoop.rate, durationS: opts.duration, connections: opts.connections, request: opts.openLoop.request });
}

function summary(name, res, usage, db0, db1) {
  const statuses = {};
  for (const [code, v] of Object.entries(res.statusCodeStats ?? {})) statuses[code] = v.count;
  const total = res.requests.total;
  return {
    phase: name,
    connections: res.connections,
    duration_s: res.duration,
    requests: total,
    req_per_s: Number(res.requests.average.toFixed(0)),
    latency_ms: {
      p50: res.latency.p50,
      p90: res.latency.p90,
      p99: res.latency.p99,
      max: res.latency.max,
      mean: Number(res.latency.mean.toFixed(2)),
    },
    statuses,
    non2xx: res.non2xx,
    errors: res.errors,
    timeouts: res.timeouts,
    ...(res.late_sends !== undefined ? { open_loop: true, late_sends: res.late_sends } : {}),
    cpu_percent_of_one_core: usage.cpu_percent_of_one_core,
    machine_busy_percent_of_all_cores: usage.machine_busy_percent_of_all_cores,
    other_processes_percent_of_one_core: usage.other_processes_percent_of_one_core,
    api_rss_max_mib: usage.rss_samples_mib.api?.length
      ? Number(Math.max(...usage.rss_samples_mib.api).toFixed(1))
      : null,
    db:
      db0 && db1
        ? {
            commits_per_request: Number(((db1.commits - db0.commits) / Math.max(1, total)).toFixed(2)),
            write_xacts_per_request: Number(((db1.next_xid - db0.next_xid) / Math.max(1, total)).toFixed(2)),
          }
        : null,
  };
}

async function phase(name, opts) {
  if (o.warmup > 0) {
    log(`${name}: warm-up ${o.warmup} s`);
    await load({ ...opts, duration: o.warmup });
  }
  const db0 = await xids();
  // tree: a cluster's CPU and RSS are the primary's and its processes' summed
  const procs = stack ? [{ name: 'api', pid: stack.api.pid, tree: stack.api.tree }] : [];
  const sampler = startSampler(procs, { postmaster: stack?.postmaster ?? null });
  log(`${name}: ${o.duration} s`);
  const res = await load({ ...opts, duration: o.duration });
  const usage = sampler.stop();
  const db1 = await xids();
  return summary(name, res, usage, db0, db1);
}

const results = {
  benchmark: 'api HTTP load (autocannon)',
  started_at: new Date().toISOString(),
  machine: machineInfo(),
  settings: {
    ...o,
    builds: stack ? buildInfo(appRoot) : null,
    mode: stack ? 'own stack (embedded PostgreSQL, durable defaults, no worker)' : `running api at ${apiUrl}`,
  },
  phases: [],
};
let exitCode = 0;
try {
  results.phases.push(await phase('upload-max', { connections: o.connections, requests: [uploadRequest] }));
  if (o.rate > 0) {
    results.phases.push(
      await phase(`upload-rate-${o.rate}`, {
        connections: o.rateConnections,
        openLoop: { rate: o.rate, request: openLoopUpload },
      }),
    );
  }
  if (o.put) results.phases.push(await phase('upload-put-max', { connections: o.connections, requests: uploadPutRequests }));
  if (o.jobs > 0) {
    // jobs to read: one user's, created through the api
    const owner = signToken(jwtSecret);
    log(`creating ${o.jobs} jobs for the GET phase`);
    const ids = await mapLimit(
      Array.from({ length: o.jobs }, (_, i) => i),
      16,
      async (i) => {
        const r = await fetch(`${apiUrl}/api/v2/upload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            filename: `get-${i}.md`,
            bytes_len: 1500,
            mime: 'text/markdown',
            sha256: createHash('sha256').update(`${prefix}-get-${i}`).digest('hex'),
          }),
        });
        const b = await r.json();
        if (r.status !== 201) throw new Error(`creating job ${i}: ${r.status} ${JSON.stringify(b)}`);
        return b.job_id;
      },
    );
    let k = 0;
    results.phases.push(
      await phase('job-get-max', {
        connections: o.connections,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({
              ...req,
              path: `/api/v2/jobs/${ids[k++ % ids.length]}`,
              headers: { authorization: `Bearer ${owner}` },
            }),
          },
        ],
      }),
    );
  }
  for (const p of results.phases) if (p.non2xx || p.errors || p.timeouts) exitCode = 1;
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  results.error = String(e.message ?? e);
  exitCode = 1;
} finally {
  await db?.end().catch(() => undefined);
  if (stack) {
    log('stopping the stack');
    await stack.close();
  }
}
results.finished_at = new Date().toISOString();
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);

const m = results.machine;
const out = [
  `machine: ${m.cpu_model}, ${m.cores} cores, ${m.memory_mb} MiB, node ${m.node}, load ${m.loadavg_at_start.join(' ')}`,
];
if (stack && o.apiProcesses > 1) out.push(`api: ${o.apiProcesses} processes (API_PROCESSES); its CPU is the primary's and theirs summed`);
if (results.error) out.push(`ERROR: ${results.error}`);
const rows = [
  [
    'phase',
    'conns',
    'req/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'non-2xx',
    'errors',
    'api CPU%',
    'pg CPU%',
    'load CPU%',
    'other CPU%',
    'commits/req',
  ],
];
for (const p of results.phases) {
  const c = p.cpu_percent_of_one_core;
  rows.push([
    p.phase,
    p.connections,
    p.req_per_s,
    p.latency_ms.p50,
    p.latency_ms.p90,
    p.latency_ms.p99,
    p.latency_ms.max,
    p.non2xx,
    p.errors + p.timeouts,
    fmt(c.api, 0),
    fmt(c.postgres, 0),
    fmt(c['bench (this process)'], 0),
    fmt(p.other_processes_percent_of_one_core, 0),
    p.db ? `${p.db.commits_per_request} (${p.db.write_xacts_per_request} w)` : '-',
  ]);
}
out.push(table(rows));
for (const p of results.phases) {
  if (p.open_loop) out.push(`${p.phase}: open loop, ${p.requests} requests at a constant rate, ${p.late_sends} sent more than 5 ms late by this process`);
}
const up = results.phases.find((p) => p.phase === 'upload-max');
const at = results.phases.find((p) => p.phase.startsWith('upload-rate'));
if (up) {
  // DESIGN.md: POST /api/v2/upload <= 0.5 ms of api CPU (>= 2,000 req/s on one core), p99 <= 50 ms
  const apiMs = (p) => (p.cpu_percent_of_one_core.api * 10) / p.req_per_s;
  const lat = at ?? up;
  out.push(
    `target upload <= 0.5 ms of api CPU a POST: ${fmt(apiMs(up), 2)} ms at ${up.req_per_s} req/s (closed loop)` +
      `${at ? `, ${fmt(apiMs(at), 2)} ms at ${at.req_per_s} req/s (${o.rate} offered)` : ''} (${apiMs(up) <= 0.5 ? 'met' : 'MISSED'}); ` +
      `p99 <= 50 ms: ${at ? `${at.latency_ms.p99} ms at ${o.rate} req/s offered, ${at.req_per_s} achieved` : `${up.latency_ms.p99} ms`} ` +
      `(${lat.latency_ms.p99 <= 50 && (!at || at.req_per_s >= o.rate * 0.98) ? 'met' : 'MISSED'})`,
  );
}
const put = results.phases.find((p) => p.phase === 'upload-put-max');
if (up && put) {
  // autocannon counts the POST and the PUT each as a request: a document is two
  const perDoc = (p) => (p.cpu_percent_of_one_core.api * 10) / (p.req_per_s / 2);
  const pgPerDoc = (p) => (p.cpu_percent_of_one_core.postgres * 10) / (p.req_per_s / 2);
  const postMs = (up.cpu_percent_of_one_core.api * 10) / up.req_per_s;
  out.push(
    `a document's POST + PUT: ${fmt(perDoc(put), 2)} ms of api CPU and ${fmt(pgPerDoc(put), 2)} ms of PostgreSQL at ` +
      `${fmt(put.req_per_s / 2, 0)} documents/s; the PUT alone about ${fmt(perDoc(put) - postMs, 2)} ms of api CPU (the POST: ${fmt(postMs, 2)})`,
  );
}
process.stdout.write(`${out.join('\n')}\n`);
process.exit(exitCode);
