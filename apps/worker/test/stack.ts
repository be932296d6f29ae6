import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { signDevToken } from '@app/auth';
import { migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { TcpProxy, viaProxy } from './tcp-proxy';

const ROOT = resolve(__dirname, '../../..');
const JWT_SECRET = 'integration-test-secret-0123456789abcdef';
const STORAGE_SECRET = 'integration-storage-secret-0123456789';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

export interface AppProcess {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  /** SIGTERM and wait for exit; resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Stack {
  db: TestDatabase;
  storageRoot: string;
  api: AppProcess;
  parser: AppProcess;
  embedder: AppProcess;
  workers: AppProcess[];
  logDir: string;
  dbProxy: TcpProxy | null;
  /** A user's JWT; `role` defaults to `authenticated` (the api's ADMIN_ROLE is `service_role`). */
  token(sub?: string, role?: string): string;
  startWorker(env?: Record<string, string>): Promise<AppProcess>;
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface StackOptions {
  workers?: number;
  workerEnv?: Record<string, string>;
  parserEnv?: Record<string, string>;
  embedderEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  /** Route the apps' database connections through a TCP proxy the test can stop and start. */
  dbProxy?: boolean;
}

/**
 * The real stack for integration tests: a fresh database, and the built api, mock-llamaparse,
 * mock-openai and worker(s) as separate processes talking HTTP on free ports.
 */
/** The node flags an app runs with everywhere (tools/dev/app-commands.json): the tests run what ships. */
function appNodeFlags(app: string): string[] {
  const commands = JSON.parse(readFileSync(join(ROOT, 'tools/dev/app-commands.json'), 'utf8')) as { apps: Record<string, string[]> };
  const cmd = commands.apps[app];
  if (!cmd) throw new Error(`tools/dev/app-commands.json has no command for ${app}`);
  return cmd.slice(1, -1);
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const db = await createTestDatabase(migratedTemplate());
  const storageRoot = mkdtempSync(join(tmpdir(), 'ingest-stack-storage-'));
  const logDir = join(ROOT, 'tmp', 'test-logs', `stack-${Date.now()}-${randomUUID().slice(0, 8)}`);
  mkdirSync(logDir, { recursive: true });
  const procs: AppProcess[] = [];
  const pg = new Client({ connectionString: db.url });
  await pg.connect();

  const launch = async (name: string, app: string, env: Record<string, string>, portVar: string, fixedPort?: number): Promise<AppProcess> => {
    const port = fixedPort ?? (await freePort());
    const log = createWriteStream(join(logDir, `${name}.log`));
    const child = spawn(process.execPath, [...appNodeFlags(app), join(ROOT, 'dist/apps', app, 'main.js')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env, [portVar]: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const url = `http://127.0.0.1:${port}`;
    const p: AppProcess = {
      name,
      child,
      port,
      url,
      stop: (signal = 'SIGTERM') =>
        new Promise((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode);
          child.once('exit', (code) => res(code));
          child.kill(signal);
        }),
    };
    procs.push(p);
    await waitReady(`${url}/health/ready`, child);
    return p;
  };

  const embedder = await launch('mock-openai', 'mock-openai', { MOCK_SEED: '7', ...o.embedderEnv }, 'MOCK_OPENAI_PORT');
  const parser = await launch(
    'mock-llamaparse',
    'mock-llamaparse',
    { MOCK_SEED: '7', MOCK_LLAMAPARSE_LOG_LEVEL: 'silent', ...o.parserEnv },
    'MOCK_LLAMAPARSE_PORT',
  );
  const apiPort = await freePort();
  let dbProxy: TcpProxy | null = null;
  if (o.dbProxy) {
    const u = new URL(db.url);
    dbProxy = new TcpProxy(u.hostname, Number(u.port || 5432), await freePort());
    await dbProxy.start();
  }
  const common = {
    DATABASE_URL: dbProxy ? viaProxy(db.url, dbProxy.port) : db.url,
    DB_MIGRATE_ON_START: 'false',
    STORAGE_LOCAL_ROOT: storageRoot,
    STORAGE_SIGNING_SECRET: STORAGE_SECRET,
    PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
  };
  // Tests upload hundreds of documents as one user: lift the per-user upload rate limit unless a test sets it.
  const apiDefaults = { JWT_SECRET, API_HOST: '127.0.0.1', UPLOAD_RATE_LIMIT: '1000000' };
  const api = await launch('api', 'api', { ...apiDefaults, ...common, OPENAI_BASE_URL: `${embedder.url}/v1`, ...o.apiEnv }, 'API_PORT', apiPort);

  const workers: AppProcess[] = [];
  let n = 0;
  const startWorker = async (env: Record<string, string> = {}) => {
    const w = await launch(
      `worker-${++n}`,
      'worker',
      {
        ...common,
        WORKER_ID: `test-worker-${n}`,
        WORKER_HOST: '127.0.0.1',
        LLAMAPARSE_BASE_URL: parser.url,
        OPENAI_BASE_URL: `${embedder.url}/v1`,
        WEBHOOK_BASE_URL: api.url,
        EMBEDDING_DIMENSIONS: '1536',
        POLL_INTERVAL_MS: '200',
        WEBHOOK_TIMEOUT_MS: '3000',
        PARSER_POLL_INTERVAL_MS: '300',
        RETRY_BASE_MS: '100',
        RETRY_MAX_MS: '1000',
        BREAKER_HALF_OPEN_MS: '500',
        ...o.workerEnv,
        ...env,
      },
      'WORKER_PORT',
    );
    workers.push(w);
    return w;
  };
  for (let i = 0; i < (o.workers ?? 1); i++) await startWorker();

  return {
    db,
    storageRoot,
    api,
    parser,
    embedder,
    workers,
    logDir,
    dbProxy,
    token: (sub = randomUUID(), role?: string) => signDevToken({ secret: JWT_SECRET, sub, role }),
    startWorker,
    sql: async <T>(text: string, params: unknown[] = []) => (await pg.query(text, params)).rows as T[],
    async close() {
      await Promise.all(procs.map((p) => p.stop('SIGTERM')));
      await dbProxy?.stop();
      await pg.end();
      await db.drop();
      rmSync(storageRoot, { recursive: true, force: true });
    },
  };
}

export interface Uploaded {
  jobId: string;
  documentId: string;
}

/** Uploads a document the way a client does: POST /api/v2/upload, then PUT to the signed URL. */
export async function uploadDocument(
  stack: Stack,
  token: string,
  filename: string,
  mime: string,
  bytes: Buffer,
  extra: { ocr?: boolean } = {},
): Promise<Uploaded> {
  const r = await fetch(`${stack.api.url}/api/v2/upload`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ filename, bytes_len: bytes.length, mime, sha256: sha256(bytes), ...extra }),
  });
  const body = (await r.json()) as { job_id: string; document_id: string; signed_url: string; upload_headers: Record<string, string> };
  if (r.status !== 201) throw new Error(`upload ${filename}: ${r.status} ${JSON.stringify(body)}`);
  const put = await fetch(body.signed_url, { method: 'PUT', headers: body.upload_headers, body: bytes });
  if (put.status !== 200) throw new Error(`PUT ${filename}: ${put.status} ${await put.text()}`);
  return { jobId: body.job_id, documentId: body.document_id };
}

export interface JobRow {
  job_id: string;
  stage: string;
  state: string;
  retry_count: number;
  last_error: { code: string; message: string; kind: string } | null;
}

/** Waits until every job is done or dead-lettered (or the time is up); returns their rows. */
export async function waitForJobs(stack: Stack, jobIds: string[], timeoutMs = 60_000): Promise<JobRow[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await stack.sql<JobRow>(
      `SELECT job_id, stage, state, retry_count, last_error FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
      [jobIds],
    );
    const settled = rows.filter((r) => r.state === 'done' || r.state === 'deadletter');
    if (settled.length === jobIds.length || Date.now() > until) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `fn` until it returns something truthy (and returns that), or fails naming `what`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Changes a mock's fault injection at run time (PUT /_mock/config). */
export async function setFaults(p: AppProcess, faults: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${p.url}/_mock/config`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(faults) });
  if (!r.ok) throw new Error(`faults ${p.name}: ${r.status} ${await r.text()}`);
}

/** How many status answers the mock parser gave for known jobs (its `GET /_mock/stats`). */
export async function parserStatusChecks(p: AppProcess): Promise<number> {
  const r = await fetch(`${p.url}/_mock/stats`);
  if (!r.ok) throw new Error(`stats ${p.name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { statusChecks: number }).statusChecks;
}

/** How many embeddings requests the mock embedder received so far, answered or not (its `GET /_mock/stats`). */
export async function embedderRequestsReceived(p: AppProcess): Promise<number> {
  const r = await fetch(`${p.url}/_mock/stats`);
  if (!r.ok) throw new Error(`stats ${p.name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { requests: { received: number } }).requests.received;
}

/** Sum of a metric's samples matching the labels in Prometheus text; NaN when there is none. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
    seen = true;
  }
  return seen ? total : Number.NaN;
}
