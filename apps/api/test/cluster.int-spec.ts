import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signDevToken } from '@app/auth';
import { migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';

// The built api (dist/apps/api/main.js, as it ships: the test target builds it first) run with API_PROCESSES=2:
// a node:cluster primary and two processes on one port, real PostgreSQL, real HTTP.

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/api/main.js');
const JWT_SECRET = 'cluster-test-secret-0123456789abcdef';
const START_TIMEOUT_MS = 90_000;

interface LogLine {
  pid: number;
  level: string;
  msg: string;
  context?: string;
  worker_pid?: number;
  req?: { method: string; url: string };
  res?: { statusCode: number };
}

/** The value of the one sample `name{...labels...}` in Prometheus text (one series: the processes' sum, not a list). */
function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const hits = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}:\n${hits.join('\n')}`);
  return hits.length ? Number(hits[0].slice(hits[0].lastIndexOf(' ') + 1)) : undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res, rej) => s.once('error', rej).listen(0, '127.0.0.1', res));
  const addr = s.address();
  await new Promise((res) => s.close(res));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One HTTP exchange on a connection of its own (so that the primary hands each request to the next process). */
function call(port: number, method: string, path: string, o: { token?: string; body?: object } = {}): Promise<{ status: number; body: string }> {
  const body = o.body ? JSON.stringify(o.body) : undefined;
  return new Promise((res, rej) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          connection: 'close',
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (text += d));
        r.on('end', () => res({ status: r.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

/** The api as a process; its stdout JSON lines collected. */
class ApiProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        if (!l.startsWith('{')) continue;
        this.lines.push(JSON.parse(l) as LogLine);
      }
      for (const w of this.waiters) w();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    // 'close': after the exit and the last of its output
    this.exited = new Promise((res) =>
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.closed = true;
        res({ code, signal });
        for (const w of this.waiters) w();
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Resolves once `pred` holds over the lines logged so far. */
  waitFor<T>(what: string, pred: (lines: LogLine[]) => T | undefined | false, timeoutMs = START_TIMEOUT_MS): Promise<T> {
    return new Promise((res, rej) => {
      const check = (): void => {
        const v = pred(this.lines);
        if (v) {
          done();
          res(v);
        } else if (this.closed) {
          done();
          rej(new Error(`api exited while waiting for ${what}:\n${this.output.slice(-3000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`no ${what} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.closed) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** The pids that logged `api listening on ...` (each process of the cluster once it listens). */
const listeningPids = (lines: LogLine[]): number[] => lines.filter((l) => l.context === 'Bootstrap' && l.msg.startsWith('api listening on')).map((l) => l.pid);

/** The processes that completed `POST /api/v2/upload` with 201, and how many each. */
function uploadsByPid(lines: LogLine[]): Map<number, number> {
  const by = new Map<number, number>();
  for (const l of lines) if (l.req?.method === 'POST' && l.req.url === '/api/v2/upload' && l.res?.statusCode === 201) by.set(l.pid, (by.get(l.pid) ?? 0) + 1);
  return by;
}

const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('api: API_PROCESSES=2 (node:cluster, built app, real processes)', () => {
  let db: TestDatabase;
  let storageRoot: string;
  let env: Record<string, string>;
  const running: ApiProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    storageRoot = mkdtempSync(join(tmpdir(), 'ingest-api-cluster-'));
    env = {
      DATABASE_URL: db.url,
      DB_MIGRATE_ON_START: 'false',
      STORAGE_LOCAL_ROOT: storageRoot,
      JWT_SECRET,
      API_HOST: '127.0.0.1',
      PUBLIC_BASE_URL: 'http://127.0.0.1:1',
      UPLOAD_RATE_LIMIT: '1000000',
      API_PROCESSES: '2',
    };
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await db?.drop();
    if (storageRoot) rmSync(storageRoot, { recursive: true, force: true });
  });

  const start = (over: Record<string, string> = {}): ApiProcess => {
    const p = new ApiProcess({ ...env, ...over });
    running.push(p);
    return p;
  };

  it(
    'two processes share the port; /metrics at either reports the sum; a killed one is replaced; SIGTERM stops all, exit 0',
    async () => {
      const port = await freePort();
      const api = start({ API_PORT: String(port) });
      // the primary's line once both listen; each process's own line may come just after it
      await api.waitFor('all processes listening', (ls) =>
        ls.some((l) => l.context === 'Cluster' && l.msg === `all 2 api processes listening on 127.0.0.1:${port}`) && listeningPids(ls).length === 2,
      );
      const children = listeningPids(api.lines);
      expect(new Set(children).size).toBe(2);
      expect(children).not.toContain(api.pid);

      const token = signDevToken({ secret: JWT_SECRET, sub: randomUUID() });
      const upload = async (name: string): Promise<void> => {
        const r = await call(port, 'POST', '/api/v2/upload', {
          token,
          body: { filename: `${name}.md`, bytes_len: 12, mime: 'text/markdown', sha256: createHash('sha256').update(name).digest('hex') },
        });
        expect(r.status).toBe(201);
      };
      const uploadCount = async (): Promise<number | undefined> => {
        const r = await call(port, 'GET', '/metrics');
        expect(r.status).toBe(200);
        return sampleValue(r.body, 'http_request_duration_seconds_count', { method: 'POST', route: '/api/v2/upload', status_code: '201' });
      };

      const first = 10;
      for (let i = 0; i < first; i++) await upload(`first-${i}`);
      // each request on its own connection: the primary hands them out in turn, so both processes served some
      const served = await api.waitFor('the uploads logged', (ls) => (sum(uploadsByPid(ls)) === first ? uploadsByPid(ls) : undefined));
      expect([...served.keys()].sort()).toEqual([...children].sort());
      for (const n of served.values()) expect(n).toBeLessThan(first);
      // each scrape, whichever process answers it, reports the sum
      for (let i = 0; i < 4; i++) expect(await uploadCount()).toBe(first);
      expect((await call(port, 'GET', '/health/ready')).status).toBe(200);

      // a process that dies is replaced; its counts leave the sum (as a restarted single process's would)
      const [victim, survivor] = children;
      process.kill(victim, 'SIGKILL');
      const replacement = await api.waitFor('a replacement listening', (ls) =>
        ls.find((l) => l.context === 'Cluster' && l.msg.endsWith('listening (a replacement)'))?.worker_pid,
      );
      expect(api.lines.some((l) => l.level === 'error' && l.worker_pid === victim && /exited with signal SIGKILL; a new one in \d+ ms/.test(l.msg))).toBe(true);
      expect([victim, survivor, api.pid]).not.toContain(replacement);
      const survivorServed = served.get(survivor) ?? 0;
      expect(await uploadCount()).toBe(survivorServed);

      const second = 6;
      for (let i = 0; i < second; i++) await upload(`second-${i}`);
      const after = await api.waitFor('the second uploads logged', (ls) => (sum(uploadsByPid(ls)) === first + second ? uploadsByPid(ls) : undefined));
      expect(after.get(replacement)).toBeGreaterThan(0);
      expect(await uploadCount()).toBe(survivorServed + second);

      // SIGTERM: passed on, each process closes, the primary exits 0 after them
      const { code, signal } = await api.stop();
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(api.lines.some((l) => l.pid === survivor && l.msg === 'SIGTERM: shutting down')).toBe(true);
      expect(api.lines.some((l) => l.pid === replacement && l.msg === 'SIGTERM: shutting down')).toBe(true);
      expect(api.lines.at(-1)).toMatchObject({ pid: api.pid, context: 'Cluster', msg: 'every api process has exited' });
      for (const pid of [victim, survivor, replacement]) expect(isAlive(pid)).toBe(false);
    },
    4 * START_TIMEOUT_MS,
  );

  it(
    'processes that keep failing at start (port in use): the primary gives up and exits 1, none left running',
    async () => {
      const port = await freePort();
      const blocker: Server = createServer();
      await new Promise<void>((res) => blocker.listen(port, '127.0.0.1', res));
      try {
        const api = start({ API_PORT: String(port), LOG_LEVEL: 'warn' });
        const { code } = await api.exited;
        expect(code).toBe(1);
        expect(api.output).toContain('EADDRINUSE');
        const fatal = api.lines.find((l) => l.level === 'fatal');
        expect(fatal).toMatchObject({ pid: api.pid, context: 'Cluster' });
        expect(fatal?.msg).toMatch(/5 failed starts in a row: giving up$/);
        const forked = new Set(api.lines.filter((l) => l.context === 'Cluster' && l.worker_pid).map((l) => l.worker_pid as number));
        expect(forked.size).toBeGreaterThanOrEqual(5);
        for (const pid of forked) expect(isAlive(pid)).toBe(false);
      } finally {
        await new Promise((res) => blocker.close(res));
      }
    },
    4 * START_TIMEOUT_MS,
  );

  it('`migrate` runs once in this process, without forking', () => {
    const r = spawnSync(process.execPath, [MAIN, 'migrate'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', LOG_FORMAT: 'json', ...env },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('database is up to date\n');
  });

  it('API_PROCESSES=1: the process itself serves, no cluster primary', async () => {
    const port = await freePort();
    const api = start({ API_PORT: String(port), API_PROCESSES: '1' });
    await api.waitFor('listening', (ls) => listeningPids(ls).length > 0);
    expect(listeningPids(api.lines)).toEqual([api.pid]);
    expect(api.lines.some((l) => l.context === 'Cluster')).toBe(false);
    expect((await call(port, 'GET', '/health/live')).status).toBe(200);
    expect(await api.stop()).toEqual({ code: 0, signal: null });
  }, START_TIMEOUT_MS);
});
