// Starts the whole stack for a benchmark: a throwaway embedded PostgreSQL with DURABLE settings
// (fsync, synchronous_commit and full_page_writes at their defaults, unlike the test clusters), the
// database migrated once, then the four built apps (dist/apps/<app>/main.js) as processes on free
// ports, and N workers. Nothing is built here unless dist is missing.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { appNodeFlagsAt } from '../../dev/app-commands.mjs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../../dev/embedded-pg.mjs';
import { postmasterPid } from './machine.mjs';
import { sleep } from './stats.mjs';

export const ROOT = resolve(import.meta.dirname, '../../..');
const APPS = ['mock-openai', 'mock-llamaparse', 'api', 'worker'];

/** Builds the four apps (of the checkout at `appRoot`) only when one of them has no dist/apps/<app>/main.js. */
export function ensureBuilt(log, appRoot = ROOT) {
  const missing = APPS.filter((a) => !existsSync(join(appRoot, 'dist/apps', a, 'main.js')));
  if (!missing.length) return;
  log(`dist missing for ${missing.join(', ')}: building (npx nx run-many -t build)`);
  const b = spawnSync(
    'npx',
    ['nx', 'run-many', '-t', 'build', '-p', APPS.join(','), '--outputStyle=static'],
    {
      cwd: appRoot,
      stdio: 'inherit',
    },
  );
  if (b.status !== 0) throw new Error('build failed');
}

async function waitReady(url, child, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`${url}: process exited with ${child.exitCode} (see its log)`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

async function waitFor(cond, child, what, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode} (see its log)`);
    if (Date.now() > until) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * @param {{workers: number, latencyMs: number, concurrency?: number, claimBatch?: number, prefetch?: number, pollIntervalMs?: number,
 *   workerPool?: number, apiPool?: number, apiProcesses?: number (API_PROCESSES, default 1), parserConcurrency: number, logLevel: string, logDir: string, sourceMaps?: boolean (default false, as shipped), cpuProf?: boolean, perfMap?: boolean, pgStatements?: boolean, deferWorkers?: boolean,
 *   log: (m: string) => void}} o
 */
export async function startStack(o) {
  const log = o.log;
  const dataDir = mkdtempSync(join(tmpdir(), 'ingest-bench-pg-'));
  const storageRoot = mkdtempSync(join(tmpdir(), 'ingest-bench-storage-'));
  mkdirSync(o.logDir, { recursive: true });
  log(
    `embedded PostgreSQL (durable defaults: fsync=on, synchronous_commit=on, full_page_writes=on) in ${dataDir}`,
  );
  const db = await startEmbeddedPostgres({
    dataDir,
    persistent: false,
    fast: false,
    extraFlags: o.pgStatements ? ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=top', '-c', 'pg_stat_statements.track_planning=on'] : [],
  });
  const procs = [];
  // Should this process end without closing the stack (a crash, process.exit, a failed migration, an app that
  // failed to start half-way through the launches below), nothing of it outlives it: the apps and the database
  // are killed outright (only what close() has not already stopped).
  const postmaster = postmasterPid(dataDir);
  let closed = false;
  process.once('exit', () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    if (postmaster && !closed) {
      try {
        process.kill(postmaster, 'SIGQUIT'); // immediate shutdown; its backends follow
      } catch {
        // already gone
      }
    }
  });
  const admin = new pg.Client({ connectionString: db.url });
  admin.on('error', () => undefined); // the database stopped under it (a signal): the stack is closing anyway
  await admin.connect();
  await admin.query('CREATE DATABASE ingest');
  const databaseUrl = db.url.replace(/\/postgres$/, '/ingest');
  if (o.pgStatements) {
    const ingest = new pg.Client({ connectionString: databaseUrl });
    await ingest.connect();
    await ingest.query('CREATE EXTENSION pg_stat_statements');
    await ingest.end();
  }
  const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  const settings = (
    await admin.query(
      `SELECT name, setting FROM pg_settings WHERE name IN
        ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers','max_connections','commit_delay')`,
    )
  ).rows;
  await admin.end();

  const secrets = {
    JWT_SECRET: randomBytes(24).toString('hex'),
    STORAGE_SIGNING_SECRET: randomBytes(24).toString('hex'),
  };
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const common = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: o.logLevel,
    LOG_FORMAT: 'json',
    DATABASE_URL: databaseUrl,
    DB_MIGRATE_ON_START: 'false',
    STORAGE_LOCAL_ROOT: storageRoot,
    STORAGE_SIGNING_SECRET: secrets.STORAGE_SIGNING_SECRET,
    PUBLIC_BASE_URL: apiUrl,
    EMBEDDING_DIMENSIONS: '1536',
  };

  // the built apps of this checkout, or of another one (--app-root: its dist/ and its app commands)
  const appRoot = o.appRoot ?? ROOT;
  log(`migrating (node dist/apps/api/main.js migrate${appRoot === ROOT ? '' : `, in ${appRoot}`})`);
  const m = spawnSync(process.execPath, [join(appRoot, 'dist/apps/api/main.js'), 'migrate'], {
    cwd: appRoot,
    env: { ...common, JWT_SECRET: secrets.JWT_SECRET },
    encoding: 'utf8',
  });
  if (m.status !== 0) throw new Error(`migration failed: ${m.stderr || m.stdout}`);

  const apiProcesses = o.apiProcesses ?? 1;
  const launch = async (name, app, env, portVar, fixedPort) => {
    const port = fixedPort ?? (await freePort());
    const out = createWriteStream(join(o.logDir, `${name}.log`));
    // as the Dockerfiles run them
    // the flags it ships with (tools/dev/app-commands.json); --source-maps adds --enable-source-maps
    const nodeArgs = appNodeFlagsAt(appRoot, app);
    if (o.sourceMaps) nodeArgs.unshift('--enable-source-maps');
    if (app === 'worker' && o.workerNodeArgs?.length) nodeArgs.push(...o.workerNodeArgs);
    // --perf-map: /tmp/perf-<pid>.map names the JIT's functions for Linux perf (perf-summary.mjs)
    if (o.perfMap) nodeArgs.push('--perf-basic-prof-only-functions');
    // several api processes: a cluster primary and its processes (they inherit its node flags)
    const cluster = app === 'api' && apiProcesses > 1;
    // --cpu-prof: a V8 CPU profile of every app (mocks included), written on exit (summarize with profile-summary.mjs);
    // a cluster's processes each write one, named by node (CPU.<date>.<time>.<pid>...) in profiles/api
    if (o.cpuProf)
      nodeArgs.push(
        '--cpu-prof',
        ...(cluster
          ? [`--cpu-prof-dir=${join(o.logDir, 'profiles', name)}`]
          : [`--cpu-prof-dir=${join(o.logDir, 'profiles')}`, `--cpu-prof-name=${name}.cpuprofile`]),
      );
    const child = spawn(process.execPath, [...nodeArgs, join(appRoot, 'dist/apps', app, 'main.js')], {
      cwd: appRoot,
      env: { ...common, ...env, [portVar]: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    // the primary's line once every process listens (apps/api/src/cluster/cluster-primary.ts); /health/ready
    // answers as soon as the first one does
    let allListening = !cluster;
    if (cluster) {
      const line = `"msg":"all ${apiProcesses} api processes listening on `;
      let tail = '';
      child.stdout.on('data', (d) => {
        if (allListening) return;
        tail = (tail + d).slice(-8192);
        allListening = tail.includes(line);
      });
    }
    const url = `http://127.0.0.1:${port}`;
    // `tree`: CPU and RSS are the primary's and its processes' (tools/bench/lib/machine.mjs)
    const p = { name, app, child, pid: child.pid, port, url, tree: cluster };
    procs.push(p);
    await waitReady(`${url}/health/ready`, child);
    if (cluster) {
      if (['info', 'debug', 'trace'].includes(o.logLevel)) await waitFor(() => allListening, child, `${name}: all ${apiProcesses} processes listening`);
      else log(`${name}: log level ${o.logLevel} hides the line that says every process listens: not waiting for it`);
    }
    return p;
  };

  const lat = String(o.latencyMs);
  const embedder = await launch(
    'mock-openai',
    'mock-openai',
    { MOCK_OPENAI_HOST: '127.0.0.1', MOCK_OPENAI_LATENCY_MS: lat },
    'MOCK_OPENAI_PORT',
  );
  const parser = await launch(
    'mock-llamaparse',
    'mock-llamaparse',
    {
      MOCK_LLAMAPARSE_HOST: '127.0.0.1',
      MOCK_LLAMAPARSE_LATENCY_MS: lat,
      MOCK_LLAMAPARSE_CONCURRENCY: String(o.parserConcurrency),
      MOCK_LLAMAPARSE_QUEUE_MAX: '100000',
      MOCK_LLAMAPARSE_MAX_JOBS: '200000',
      MOCK_LLAMAPARSE_LOG_LEVEL: o.logLevel === 'info' ? 'log' : o.logLevel,
    },
    'MOCK_LLAMAPARSE_PORT',
  );
  const api = await launch(
    'api',
    'api',
    {
      ...secrets,
      API_HOST: '127.0.0.1',
      UPLOAD_RATE_LIMIT: '1000000000',
      OPENAI_BASE_URL: `${embedder.url}/v1`,
      ...(o.apiPool ? { DB_POOL_SIZE: String(o.apiPool) } : {}),
      ...(apiProcesses > 1 ? { API_PROCESSES: String(apiProcesses) } : {}),
    },
    'API_PORT',
    apiPort,
  );
  const workers = [];
  // All workers boot at once: started one after the other (each waited for until ready), the first worked the backlog
  // alone for the second's boot (about a second, and the boot's CPU), which a --preload run counts from the first claim.
  const startWorkers = async () => {
    const started = await Promise.all(
      Array.from({ length: o.workers }, (_, n) => n + 1).map((i) =>
        launch(
          `worker-${i}`,
          'worker',
          {
            WORKER_ID: `bench-worker-${i}`,
            WORKER_HOST: '127.0.0.1',
            LLAMAPARSE_BASE_URL: parser.url,
            OPENAI_BASE_URL: `${embedder.url}/v1`,
            WEBHOOK_BASE_URL: apiUrl,
            ...(o.concurrency ? { WORKER_CONCURRENCY: String(o.concurrency) } : {}),
            ...(o.claimBatch ? { WORKER_CLAIM_BATCH: String(o.claimBatch) } : {}),
            ...(o.prefetch !== undefined ? { WORKER_PREFETCH: String(o.prefetch) } : {}),
            ...(o.pollIntervalMs ? { POLL_INTERVAL_MS: String(o.pollIntervalMs) } : {}),
            ...(o.workerPool ? { DB_POOL_SIZE: String(o.workerPool) } : {}),
          },
          'WORKER_PORT',
        ),
      ),
    );
    workers.push(...started);
  };
  if (!o.deferWorkers) await startWorkers();

  const stack = {
    databaseUrl,
    serverVersion,
    pgSettings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
    pgPort: db.port,
    postmaster,
    jwtSecret: secrets.JWT_SECRET,
    api,
    parser,
    embedder,
    workers,
    /** Starts the workers when `deferWorkers` held them back. */
    startWorkers,
    procs,
    /** Stops the apps and the database and removes their directories; once, however often it is called. */
    close() {
      closing ??= stop();
      return closing;
    },
  };
  // A benchmark stopped by a signal (Ctrl-C, kill, a closed terminal) stops its stack too: apps left running
  // would take CPU from every later run on this machine.
  let closing;
  const onSignal = (signal) => {
    void stack.close().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of SIGNALS) process.once(signal, onSignal);
  async function stop() {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    await Promise.all(
      procs.map(
        (p) =>
          new Promise((res) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return res();
            const t = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
            p.child.once('exit', () => {
              clearTimeout(t);
              res();
            });
            p.child.kill('SIGTERM');
          }),
      ),
    );
    await db.stop().catch(() => undefined);
    closed = true;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(storageRoot, { recursive: true, force: true });
  }
  return stack;
}

/** Which build ran: mtime and a short sha256 of each dist/apps/<app>/main.js (others may rebuild dist meanwhile). */
export function buildInfo(appRoot = ROOT) {
  return Object.fromEntries(
    APPS.map((a) => {
      const f = join(appRoot, 'dist/apps', a, 'main.js');
      if (!existsSync(f)) return [a, null];
      return [
        a,
        {
          mtime: statSync(f).mtime.toISOString(),
          sha256: createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12),
        },
      ];
    }),
  );
}

/** A directory for this run's app logs: tmp/bench/<time>-<id> (git-ignored). */
export function newLogDir() {
  return join(
    ROOT,
    'tmp',
    'bench',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 6)}`,
  );
}
