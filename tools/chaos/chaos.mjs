#!/usr/bin/env node
// Chaos run of the whole built stack: N documents through W workers while K workers are killed with
// SIGKILL at random moments (and restarted), optionally with faults injected at the parser and the
// embedder. At the end it checks that nothing was lost or written twice and prints a JSON report and a
// table. Exit code 0 when every check holds, 1 when one fails, 2 on bad arguments.
//
//   node tools/chaos/chaos.mjs --docs 1000 --kills 20
//
// It runs the built apps (dist/apps/*/main.js; --build builds them first) as processes on free ports,
// the way apps/worker/test/stack.ts does, on an embedded PostgreSQL (tools/dev/embedded-pg.mjs) or, with
// --database-url, in a fresh database created on that server. See docs/operations.md, "Chaos testing".
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { v5 as uuidv5 } from 'uuid';
import { appNodeFlags } from '../dev/app-commands.mjs';
import { freePort, startEmbeddedPostgres } from '../dev/embedded-pg.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const APPS = ['mock-openai', 'mock-llamaparse', 'api', 'worker'];
/** libs/chunking CHUNK_ID_NAMESPACE: chunk_id = UUIDv5(ns, "{document_id}:{chunker}:{version}:{ord}"). */
const CHUNK_ID_NAMESPACE = '6e76fc9e-be58-4af2-8b4b-cf6c7cc4f974';

const USAGE = `usage: node tools/chaos/chaos.mjs [options]
  --docs N                documents to push through (default 1000)
  --workers W             worker processes (default 2)
  --kills K               SIGKILLs of a random worker at random moments, each followed by a restart (default 20)
  --kill-gap-ms A-B       random pause between kills, in ms (default 300-1500)
  --concurrency C         WORKER_CONCURRENCY of each worker (default 8)
  --lease-ms L            LEASE_MS of the workers (default 2000; LEASE_RENEW_MS is a quarter of it)
  --error-rate R          5xx rate injected at the parser and the embedder (default 0)
  --rate-limit-rate R     429 rate injected at both (default 0)
  --timeout-rate R        rate of hung requests at both (default 0; they hang --fault-timeout-ms)
  --fault-timeout-ms T    how long an injected hang lasts (default 1500; the workers time out after 1000)
  --drop-webhook-rate R   rate of parser webhooks never sent (default 0)
  --latency-ms T          latency added at the parser and the embedder (default 0)
  --upload-parallel P     uploads in flight at once (default 16)
  --timeout-sec S         give up waiting for the documents after S seconds (default 900)
  --database-url URL      use this PostgreSQL server (a fresh database is created and dropped) instead of an embedded one
  --build                 build the four apps first (nx run-many -t build)
  --keep                  keep the logs and the data directory (logs are always kept when a check fails)
  --json                  print only the JSON report
  -h, --help`;

function fail(message) {
  process.stderr.write(`chaos: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      docs: { type: 'string', default: '1000' },
      workers: { type: 'string', default: '2' },
      kills: { type: 'string', default: '20' },
      'kill-gap-ms': { type: 'string', default: '300-1500' },
      concurrency: { type: 'string', default: '8' },
      'lease-ms': { type: 'string', default: '2000' },
      'error-rate': { type: 'string', default: '0' },
      'rate-limit-rate': { type: 'string', default: '0' },
      'timeout-rate': { type: 'string', default: '0' },
      'fault-timeout-ms': { type: 'string', default: '1500' },
      'drop-webhook-rate': { type: 'string', default: '0' },
      'latency-ms': { type: 'string', default: '0' },
      'upload-parallel': { type: 'string', default: '16' },
      'timeout-sec': { type: 'string', default: '900' },
      'database-url': { type: 'string' },
      build: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (e) {
  fail(e.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const int = (name, min, max = Number.MAX_SAFE_INTEGER) => {
  const v = args[name];
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) fail(`--${name} must be a whole number in ${min}..${max}, got "${v}"`);
  return Number(v);
};
const rate = (name) => {
  const v = Number(args[name]);
  if (!/^(0|1|0?\.\d+)$/.test(args[name]) || v < 0 || v > 1) fail(`--${name} must be a number in 0..1, got "${args[name]}"`);
  return v;
};
const gap = /^(\d+)-(\d+)$/.exec(args['kill-gap-ms']);
if (!gap || Number(gap[1]) > Number(gap[2])) fail(`--kill-gap-ms must be A-B with A <= B, got "${args['kill-gap-ms']}"`);

const opts = {
  docs: int('docs', 1, 1_000_000),
  workers: int('workers', 1, 64),
  kills: int('kills', 0, 10_000),
  killGapMs: [Number(gap[1]), Number(gap[2])],
  concurrency: int('concurrency', 1, 256),
  leaseMs: int('lease-ms', 1000),
  errorRate: rate('error-rate'),
  rateLimitRate: rate('rate-limit-rate'),
  timeoutRate: rate('timeout-rate'),
  faultTimeoutMs: int('fault-timeout-ms', 1, 600_000),
  dropWebhookRate: rate('drop-webhook-rate'),
  latencyMs: int('latency-ms', 0, 600_000),
  uploadParallel: int('upload-parallel', 1, 1000),
  timeoutSec: int('timeout-sec', 1),
};
if (opts.errorRate + opts.rateLimitRate + opts.timeoutRate > 1) fail('--error-rate + --rate-limit-rate + --timeout-rate must be <= 1');
const faulty = opts.errorRate + opts.rateLimitRate + opts.timeoutRate + opts.dropWebhookRate > 0;

const say = (m) => {
  if (!args.json) process.stderr.write(`[chaos] ${m}\n`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
const outDir = join(ROOT, 'tmp', 'chaos', runId);
mkdirSync(outDir, { recursive: true });

// ---- the stack -------------------------------------------------------------------------------------

const procs = new Set();
let embedded = null;
let adminUrl = null;
let dbName = null;
let storageRoot = null;
let dataDir = null;

async function waitReady(name, url, child, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} while starting (see ${outDir}/${name}.log)`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms`);
}

async function launch(name, app, env, portVar, fixedPort) {
  const port = fixedPort ?? (await freePort());
  const log = createWriteStream(join(outDir, `${name}.log`));
  // the flags it ships with (tools/dev/app-commands.json)
  const child = spawn(process.execPath, [...appNodeFlags(app), join(ROOT, 'dist/apps', app, 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env, [portVar]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const p = {
    name,
    child,
    url: `http://127.0.0.1:${port}`,
    stop(signal = 'SIGTERM') {
      return new Promise((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode);
        child.once('exit', (code) => res(code));
        child.kill(signal);
      });
    },
  };
  procs.add(p);
  child.once('exit', () => procs.delete(p));
  await waitReady(name, `${p.url}/health/ready`, child);
  return p;
}

async function cleanup(keepFiles) {
  await Promise.all([...procs].map((p) => p.stop('SIGTERM')));
  if (dbName && adminUrl) {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect().catch(() => undefined);
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await c.end().catch(() => undefined);
  }
  if (embedded) await embedded.stop().catch(() => undefined);
  if (!keepFiles) {
    for (const d of [storageRoot, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  }
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  say('interrupted: stopping the stack');
  cleanup(true).finally(() => process.exit(130));
});

// ---- documents ---------------------------------------------------------------------------------------

const WORDS = 'ingest pipeline chunk vector lease worker parser embedder webhook retry breaker storage token document search'.split(' ');

/** Markdown of 1..5 sections of 40..940 words: one to several chunks each. */
function markdown(i) {
  let md = `# Chaos document ${i}\n\nRun ${runId}, id ${randomUUID()}.\n`;
  const sections = 1 + (i % 5);
  for (let s = 0; s < sections; s++) {
    const words = 40 + randomInt(900);
    md += `\n## Section ${s}\n\n${Array.from({ length: words }, (_, k) => WORDS[(k * 7 + i + s) % WORDS.length]).join(' ')}.\n`;
  }
  return Buffer.from(md);
}

function mintToken(secret, sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, role: 'authenticated', aud: 'authenticated', iat: now, exp: now + 24 * 3600 })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

async function upload(api, token, i) {
  const bytes = markdown(i);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fetch(`${api.url}/api/v2/upload`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ filename: `chaos-${i}.md`, bytes_len: bytes.length, mime: 'text/markdown', sha256 }),
      });
      const body = await r.json();
      if (r.status !== 201) throw new Error(`upload ${i}: ${r.status} ${JSON.stringify(body)}`);
      const put = await fetch(body.signed_url, { method: 'PUT', headers: body.upload_headers, body: bytes });
      if (put.status !== 200) throw new Error(`PUT ${i}: ${put.status} ${await put.text()}`);
      return { jobId: body.job_id, documentId: body.document_id, bytesLen: bytes.length };
    } catch (e) {
      if (attempt >= 5) throw e;
      await sleep(200 * attempt);
    }
  }
}

// ---- the run -----------------------------------------------------------------------------------------

const report = {
  tool: 'tools/chaos/chaos.mjs',
  run_id: runId,
  started_at: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
  settings: {
    docs: opts.docs,
    workers: opts.workers,
    kills_requested: opts.kills,
    kill_gap_ms: opts.killGapMs,
    worker_concurrency: opts.concurrency,
    lease_ms: opts.leaseMs,
    lease_renew_ms: Math.floor(opts.leaseMs / 4),
    faults: {
      error_rate: opts.errorRate,
      rate_limit_rate: opts.rateLimitRate,
      timeout_rate: opts.timeoutRate,
      fault_timeout_ms: opts.faultTimeoutMs,
      drop_webhook_rate: opts.dropWebhookRate,
      latency_ms: opts.latencyMs,
    },
    database: args['database-url'] ? 'given server' : 'embedded PostgreSQL',
  },
  logs: outDir,
};

let exitCode = 1;
let settled = false; // stops the kill loop
try {
  if (args.build) {
    say('building the apps');
    const b = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', APPS.join(','), '--outputStyle=static'], { cwd: ROOT, stdio: args.json ? 'ignore' : 'inherit' });
    if (b.status !== 0) throw new Error('build failed');
  }
  for (const app of APPS) {
    if (!existsSync(join(ROOT, 'dist/apps', app, 'main.js'))) throw new Error(`dist/apps/${app}/main.js is missing: run with --build (or npx nx run-many -t build)`);
  }

  // database
  if (args['database-url']) {
    adminUrl = args['database-url'];
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'ingest-chaos-pg-'));
    say('starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
    adminUrl = embedded.url;
  }
  dbName = `chaos_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();

  const jwtSecret = randomBytes(32).toString('hex');
  storageRoot = mkdtempSync(join(tmpdir(), 'ingest-chaos-storage-'));
  const common = {
    DATABASE_URL: databaseUrl,
    DB_MIGRATE_ON_START: 'false',
    STORAGE_LOCAL_ROOT: storageRoot,
    STORAGE_SIGNING_SECRET: randomBytes(32).toString('hex'),
  };
  say('migrating');
  const m = spawnSync(process.execPath, [join(ROOT, 'dist/apps/api/main.js'), 'migrate'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', JWT_SECRET: jwtSecret, ...common },
    encoding: 'utf8',
  });
  if (m.status !== 0) throw new Error(`migration failed: ${m.stderr || m.stdout}`);

  say('starting the apps');
  const embedder = await launch('mock-openai', 'mock-openai', { MOCK_SEED: '7' }, 'MOCK_OPENAI_PORT');
  const parser = await launch('mock-llamaparse', 'mock-llamaparse', { MOCK_SEED: '7', MOCK_LLAMAPARSE_LOG_LEVEL: 'warn', MOCK_LLAMAPARSE_QUEUE_MAX: '100000' }, 'MOCK_LLAMAPARSE_PORT');
  const apiPort = await freePort();
  const api = await launch(
    'api',
    'api',
    // the limiter is not under test here: many uploads a second from a few users
    { ...common, JWT_SECRET: jwtSecret, API_HOST: '127.0.0.1', PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`, UPLOAD_RATE_LIMIT: '100000000' },
    'API_PORT',
    apiPort, // signed upload URLs point at PUBLIC_BASE_URL: the api must listen exactly there
  );
  const workerEnv = {
    ...common,
    PUBLIC_BASE_URL: api.url,
    WORKER_HOST: '127.0.0.1',
    LLAMAPARSE_BASE_URL: parser.url,
    OPENAI_BASE_URL: `${embedder.url}/v1`,
    WEBHOOK_BASE_URL: api.url,
    WORKER_CONCURRENCY: String(opts.concurrency),
    LEASE_MS: String(opts.leaseMs),
    LEASE_RENEW_MS: String(Math.floor(opts.leaseMs / 4)),
    POLL_INTERVAL_MS: '200',
    PARSER_POLL_INTERVAL_MS: '300',
    WEBHOOK_TIMEOUT_MS: faulty ? '1000' : '3000',
    RETRY_BASE_MS: '100',
    RETRY_MAX_MS: '1000',
    BREAKER_HALF_OPEN_MS: '500',
    ...(faulty ? { PARSER_TIMEOUT_MS: '1000', EMBEDDER_TIMEOUT_MS: '1000', JOB_MAX_ATTEMPTS: '60' } : {}),
  };
  let workerSeq = 0;
  const startWorker = () => launch(`worker-${++workerSeq}`, 'worker', { ...workerEnv, WORKER_ID: `chaos-worker-${workerSeq}` }, 'WORKER_PORT');
  const live = [];
  for (let i = 0; i < opts.workers; i++) live.push(await startWorker());

  if (faulty || opts.latencyMs) {
    const common = { errorRate: opts.errorRate, rateLimitRate: opts.rateLimitRate, timeoutRate: opts.timeoutRate, timeoutMs: opts.faultTimeoutMs, latencyMs: opts.latencyMs };
    for (const [p, extra] of [
      [embedder, { retryAfterMs: 200 }],
      [parser, { dropWebhookRate: opts.dropWebhookRate, retryAfterSeconds: 0 }],
    ]) {
      const r = await fetch(`${p.url}/_mock/config`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...common, ...extra }) });
      if (!r.ok) throw new Error(`fault config of ${p.name}: ${r.status} ${await r.text()}`);
    }
  }

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const users = Array.from({ length: Math.max(1, Math.ceil(opts.docs / 100)) }, () => mintToken(jwtSecret, randomUUID()));

  // uploads (in parallel batches) and kills (on their own clock) run together
  const t0 = Date.now();
  const docs = new Array(opts.docs);
  let uploadedAt = 0;
  const uploading = (async () => {
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < opts.docs; i = next++) docs[i] = await upload(api, users[i % users.length], i);
    };
    await Promise.all(Array.from({ length: opts.uploadParallel }, lane));
    uploadedAt = Date.now();
    say(`uploaded ${opts.docs} documents in ${((uploadedAt - t0) / 1000).toFixed(1)} s`);
  })();
  const kills = [];
  const killing = (async () => {
    while (kills.length < opts.kills && !settled) {
      await sleep(opts.killGapMs[0] + randomInt(opts.killGapMs[1] - opts.killGapMs[0] + 1));
      if (settled) break;
      const victim = live.splice(randomInt(live.length), 1)[0];
      const inHand = (await db.query(`SELECT count(*)::int AS n FROM upload_pipeline.upload_jobs WHERE state = 'working' AND claimed_by = $1`, [victim.name.replace('worker-', 'chaos-worker-')])).rows[0].n;
      await victim.stop('SIGKILL');
      kills.push({ at_s: Number(((Date.now() - t0) / 1000).toFixed(2)), worker: victim.name, jobs_in_hand: inHand });
      say(`kill ${kills.length}/${opts.kills}: ${victim.name} (${inHand} jobs in hand)`);
      live.push(await startWorker());
    }
  })();
  await uploading;

  // wait for every document to settle (done or dead letter)
  const jobIds = docs.map((d) => d.jobId);
  const deadline = Date.now() + opts.timeoutSec * 1000;
  let lastSay = 0;
  for (;;) {
    const { rows } = await db.query(
      `SELECT count(*) FILTER (WHERE state = 'done')::int AS done, count(*) FILTER (WHERE state = 'deadletter')::int AS dead
       FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
      [jobIds],
    );
    const { done, dead } = rows[0];
    if (done + dead === opts.docs) break;
    if (Date.now() > deadline) {
      say(`timed out after ${opts.timeoutSec} s: ${done} done, ${dead} dead letters`);
      break;
    }
    if (Date.now() - lastSay > 5000) {
      say(`${done} done, ${dead} dead letters, ${opts.docs - done - dead} in flight (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      lastSay = Date.now();
    }
    await sleep(100);
  }
  const t1 = Date.now();
  settled = true;
  await killing;

  // ---- checks ----------------------------------------------------------------------------------------
  say('checking');
  const q = async (text, params = []) => (await db.query(text, params)).rows;
  const [states] = await q(
    `SELECT count(*) FILTER (WHERE state = 'done')::int AS done, count(*) FILTER (WHERE state = 'deadletter')::int AS dead
     FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
    [jobIds],
  );
  const deadLetters = await q(
    `SELECT job_id, stage, last_error->>'code' AS code, last_error->>'message' AS message FROM upload_pipeline.upload_jobs
     WHERE job_id = ANY($1::uuid[]) AND state = 'deadletter'`,
    [jobIds],
  );
  const perDoc = await q(
    `SELECT d.document_id, d.chunk_count,
            count(c.chunk_id)::int AS rows, count(c.embedding)::int AS vectors,
            coalesce(array_agg(c.chunk_id::text ORDER BY c.ord) FILTER (WHERE c.chunk_id IS NOT NULL), '{}') AS ids,
            coalesce(array_agg(c.ord ORDER BY c.ord) FILTER (WHERE c.chunk_id IS NOT NULL), '{}') AS ords,
            min(c.chunker) AS chunker, min(c.chunker_version) AS version
     FROM upload_pipeline.documents d LEFT JOIN upload_pipeline.document_chunks c USING (document_id)
     WHERE d.document_id = ANY($1::uuid[]) GROUP BY d.document_id, d.chunk_count`,
    [docs.map((d) => d.documentId)],
  );
  let countMismatches = 0;
  let idMismatches = 0;
  let chunks = 0;
  for (const d of perDoc) {
    chunks += d.rows;
    if (d.rows === 0 || d.chunk_count !== d.rows || d.vectors !== d.rows || d.ords.some((o, i) => o !== i)) countMismatches++;
    if (d.ids.some((id, i) => id !== uuidv5(`${d.document_id}:${d.chunker}:${d.version}:${i}`, CHUNK_ID_NAMESPACE))) idMismatches++;
  }
  const [dups] = await q(
    `SELECT (SELECT count(*) - count(DISTINCT chunk_id) FROM upload_pipeline.document_chunks)::int AS ids,
            (SELECT count(*) FROM (SELECT 1 FROM upload_pipeline.document_chunks GROUP BY document_id, chunker, chunker_version, ord HAVING count(*) > 1) x)::int AS ords`,
  );
  const [leases] = await q(
    `SELECT count(*) FILTER (WHERE state = 'working' AND lease_expires_at < now())::int AS stuck,
            count(*) FILTER (WHERE state = 'working')::int AS working
     FROM upload_pipeline.upload_jobs`,
  );
  const [buffers] = await q(
    `SELECT (SELECT count(*) FROM upload_pipeline.document_chunk_buffer)::int AS chunk_rows,
            (SELECT count(*) FROM upload_pipeline.document_vector_buffer)::int AS vector_rows`,
  );
  const [events] = await q(
    `SELECT count(*) FILTER (WHERE event_type = 'retry')::int AS retries,
            count(*) FILTER (WHERE event_type = 'stage_started' AND from_state = 'working')::int AS lease_takeovers,
            count(*)::int AS total
     FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[])`,
    [jobIds],
  );
  const [twice] = await q(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) AND event_type IN ('stage_done', 'finalized')
     GROUP BY job_id, from_stage, from_state, stage HAVING count(*) > 1) x`,
    [jobIds],
  );
  let breakerOpened = 0;
  for (const w of live) {
    const text = await (await fetch(`${w.url}/metrics`)).text();
    for (const l of text.split('\n')) if (l.startsWith('ingest_breaker_transitions_total{') && l.includes('state="open"')) breakerOpened += Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  await db.end();

  const lost = opts.docs - states.done;
  const checks = {
    documents_lost: { value: lost, ok: lost === 0, expect: '0 (every document complete)' },
    duplicate_chunk_ids: { value: dups.ids, ok: dups.ids === 0, expect: 0 },
    duplicate_chunk_positions: { value: dups.ords, ok: dups.ords === 0, expect: 0 },
    chunk_vector_count_mismatches: { value: countMismatches, ok: countMismatches === 0, expect: '0 (chunk_count = chunk rows = vectors, ords 0..n-1)' },
    chunk_id_mismatches: { value: idMismatches, ok: idMismatches === 0, expect: '0 (chunk_id = UUIDv5 of document:chunker:version:ord)' },
    stuck_leases: { value: leases.stuck, ok: leases.stuck === 0, expect: 0 },
    jobs_still_working: { value: leases.working, ok: leases.working === 0, expect: 0 },
    buffer_rows_left: { value: buffers.chunk_rows + buffers.vector_rows, ok: buffers.chunk_rows + buffers.vector_rows === 0, expect: 0 },
    stages_finished_twice: { value: twice.n, ok: twice.n === 0, expect: 0 },
  };
  const duration = (t1 - t0) / 1000;
  Object.assign(report, {
    finished_at: new Date().toISOString(),
    results: {
      duration_s: Number(duration.toFixed(1)),
      upload_phase_s: Number(((uploadedAt - t0) / 1000).toFixed(1)),
      throughput_docs_per_min: Math.round((states.done / duration) * 60),
      documents: opts.docs,
      completed: states.done,
      dead_letters: states.dead,
      dead_letter_reasons: Object.entries(deadLetters.reduce((acc, d) => ({ ...acc, [d.code]: (acc[d.code] ?? 0) + 1 }), {})).map(([code, n]) => ({ code, n })),
      chunks,
      kills: kills.length,
      kills_with_jobs_in_hand: kills.filter((k) => k.jobs_in_hand > 0).length,
      lease_takeovers: events.lease_takeovers,
      retries: events.retries,
      events: events.total,
      breaker_openings_seen_by_live_workers: breakerOpened,
      kill_log: kills,
    },
    checks,
  });
  if (kills.length < opts.kills) {
    report.warnings = [`only ${kills.length} of ${opts.kills} kills happened before every document settled: shorten --kill-gap-ms or add --latency-ms`];
  }
  report.ok = Object.values(checks).every((c) => c.ok);
  exitCode = report.ok ? 0 : 1;
} catch (e) {
  report.error = e instanceof Error ? e.message : String(e);
  report.ok = false;
  exitCode = 1;
} finally {
  settled = true;
  await cleanup(args.keep || exitCode !== 0);
}

writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, args.json ? 0 : 2)}\n`);
if (!args.json && report.results) {
  const r = report.results;
  const rows = [
    ['documents', `${r.documents} (${r.completed} complete, ${r.dead_letters} dead letters)`],
    ['workers / concurrency', `${opts.workers} / ${opts.concurrency}, lease ${opts.leaseMs} ms`],
    ['faults', faulty || opts.latencyMs ? JSON.stringify(report.settings.faults) : 'none'],
    ['duration', `${r.duration_s} s (uploads ${r.upload_phase_s} s)`],
    ['throughput', `${r.throughput_docs_per_min} documents/min`],
    ['kills', `${r.kills} of ${opts.kills} (${r.kills_with_jobs_in_hand} with jobs in hand)`],
    ['lease takeovers', r.lease_takeovers],
    ['retries', r.retries],
    ['dead letters', r.dead_letters],
    ['chunks', r.chunks],
    ...Object.entries(report.checks).map(([k, c]) => [`check: ${k}`, `${c.value} ${c.ok ? 'ok' : 'FAILED'}`]),
    ...(report.warnings ?? []).map((w) => ['warning', w]),
    ['result', report.ok ? 'PASS' : 'FAIL'],
  ];
  const w = Math.max(...rows.map(([k]) => String(k).length));
  process.stderr.write(`\n${rows.map(([k, v]) => `${String(k).padEnd(w)}  ${v}`).join('\n')}\n\nreport: ${join(outDir, 'report.json')}\n`);
} else if (report.error) {
  process.stderr.write(`chaos: ${report.error}\nlogs: ${outDir}\n`);
}
process.exit(exitCode);
