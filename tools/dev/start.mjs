#!/usr/bin/env node
// `npm start`: everything on one machine with nothing else installed.
//  1. PostgreSQL: DATABASE_URL if set, else an embedded one (data kept under .data/postgres).
//  2. Builds the four apps (Nx cache makes this quick after the first time).
//  3. Migrates the database once, then starts mock-openai, mock-llamaparse, api and worker,
//     waits for each /health/ready and prints where they are.
// Ctrl-C stops the apps (SIGTERM, they drain) and then the database.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { APP_COMMANDS as commands } from './app-commands.mjs';
import { startEmbeddedPostgres, freePort } from './embedded-pg.mjs';

const root = resolve(import.meta.dirname, '../..');
// the apps' commands, shared with the Dockerfiles, docker-compose.yml, the benchmark and the tests
/** [binary, args] of a command from app-commands.json, its dist/ paths made absolute. */
const resolveCommand = ([bin, ...args]) => [bin, args.map((a) => (a.startsWith('dist/') ? join(root, a) : a))];
const env = { ...process.env };
const log = (m) => console.log(`[start] ${m}`);

const ports = {
  api: Number(env.API_PORT ?? 8000),
  'mock-llamaparse': Number(env.MOCK_LLAMAPARSE_PORT ?? 8001),
  'mock-openai': Number(env.MOCK_OPENAI_PORT ?? 8002),
  worker: Number(env.WORKER_PORT ?? 8003),
};

let db;
if (!env.DATABASE_URL) {
  const dataDir = join(root, '.data', 'postgres');
  mkdirSync(join(root, '.data'), { recursive: true });
  const port = Number(env.EMBEDDED_PG_PORT ?? 0) || (await freePort());
  log(`starting embedded PostgreSQL (data in ${dataDir})`);
  db = await startEmbeddedPostgres({ dataDir, port, persistent: true });
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'ingest'`);
  if (!exists.rowCount) await admin.query('CREATE DATABASE ingest');
  await admin.end();
  env.DATABASE_URL = db.url.replace(/\/postgres$/, '/ingest');
  log(`embedded PostgreSQL on 127.0.0.1:${db.port}`);
}

const apps = ['mock-openai', 'mock-llamaparse', 'api', 'worker'];
if (!env.SKIP_BUILD) {
  log('building apps (nx run-many -t build)');
  const b = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', apps.join(','), '--outputStyle=static'], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  if (b.status !== 0) {
    await db?.stop();
    process.exit(b.status ?? 1);
  }
}

// Shared settings: every app gets the same view of the stack.
Object.assign(env, {
  API_PORT: String(ports.api),
  MOCK_LLAMAPARSE_PORT: String(ports['mock-llamaparse']),
  MOCK_OPENAI_PORT: String(ports['mock-openai']),
  WORKER_PORT: String(ports.worker),
  PUBLIC_BASE_URL: env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${ports.api}`,
  WEBHOOK_BASE_URL: env.WEBHOOK_BASE_URL ?? `http://127.0.0.1:${ports.api}`,
  LLAMAPARSE_BASE_URL: env.LLAMAPARSE_BASE_URL ?? `http://127.0.0.1:${ports['mock-llamaparse']}`,
  OPENAI_BASE_URL: env.OPENAI_BASE_URL ?? `http://127.0.0.1:${ports['mock-openai']}/v1`,
  STORAGE_LOCAL_ROOT: env.STORAGE_LOCAL_ROOT ?? join(root, '.data', 'storage'),
});
if (!existsSync(env.STORAGE_LOCAL_ROOT)) mkdirSync(env.STORAGE_LOCAL_ROOT, { recursive: true });

log('migrating the database');
const m = spawnSync(...resolveCommand(commands.migrate), { cwd: root, stdio: 'inherit', env });
if (m.status !== 0) {
  log('migration failed');
  await db?.stop();
  process.exit(m.status ?? 1);
}

const children = new Map();
let stopping = false;

function startApp(name) {
  const child = spawn(...resolveCommand(commands.apps[name]), {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `${name.padEnd(16)}|`;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        process.stdout.write(`${prefix} ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
  }
  child.on('exit', (code, sig) => {
    children.delete(name);
    if (!stopping) {
      log(`${name} exited (${code ?? sig}); stopping everything`);
      void shutdown(1);
    }
  });
  children.set(name, child);
}

async function waitReady(name, timeoutMs = 60_000) {
  const url = `http://127.0.0.1:${ports[name]}/health/ready`;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (stopping) return false;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not become ready at ${url}`);
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping apps');
  const exits = [...children.values()].map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of children.values()) c.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children.values()) c.kill('SIGKILL');
  }, 15_000);
  await Promise.all(exits);
  clearTimeout(timer);
  if (db) {
    log('stopping embedded PostgreSQL');
    await db.stop().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  for (const name of apps) {
    startApp(name);
    await waitReady(name);
  }
} catch (e) {
  log(String(e.message ?? e));
  await shutdown(1);
}
if (!stopping) {
  log('ready:');
  log(`  api              http://127.0.0.1:${ports.api}   (GET /health/ready, /docs)`);
  log(`  worker           http://127.0.0.1:${ports.worker}   (health and metrics)`);
  log(`  mock-llamaparse  http://127.0.0.1:${ports['mock-llamaparse']}`);
  log(`  mock-openai      http://127.0.0.1:${ports['mock-openai']}`);
  log(`  a token:         npm run -s token`);
}
