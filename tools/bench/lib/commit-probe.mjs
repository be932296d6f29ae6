// The machine's PostgreSQL commit rate: single-row INSERT transactions from N parallel clients for a few
// seconds against the same server, with pgbench when installed (/usr/lib/postgresql/*/bin/pgbench),
// else a Node loop. Every INSERT is its own durable commit, so this is the physical ceiling the
// pipeline's write transactions compete for.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export function findPgbench() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const p = join(base, v, 'bin', 'pgbench');
    if (existsSync(p)) return p;
  }
  return null;
}

const TABLE = 'public.bench_commit_probe';

async function viaPgbench(bin, url, clients, seconds) {
  const script = join(tmpdir(), `bench-commit-probe-${process.pid}.sql`);
  writeFileSync(script, `INSERT INTO ${TABLE} (v) VALUES (1);\n`);
  try {
    const out = await new Promise((res, rej) =>
      execFile(
        bin,
        [
          '-n',
          '-c',
          String(clients),
          '-j',
          String(Math.min(clients, 4)),
          '-T',
          String(seconds),
          '-f',
          script,
          url,
        ],
        { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
        (e, stdout, stderr) => (e ? rej(new Error(`pgbench: ${stderr || e.message}`)) : res(stdout)),
      ),
    );
    const tps = /tps = ([\d.]+)/.exec(out);
    const lat = /latency average = ([\d.]+) ms/.exec(out);
    if (!tps) throw new Error(`pgbench output not understood: ${out}`);
    return { commits_per_s: Number(Number(tps[1]).toFixed(1)), latency_avg_ms: lat ? Number(lat[1]) : null };
  } finally {
    rmSync(script, { force: true });
  }
}

async function viaNode(url, clients, seconds) {
  const cs = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  let n = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    cs.map(async (c) => {
      while (performance.now() < until) {
        await c.query(`INSERT INTO ${TABLE} (v) VALUES (1)`);
        n++;
      }
    }),
  );
  const el = (performance.now() - t0) / 1000;
  await Promise.all(cs.map((c) => c.end()));
  return {
    commits_per_s: Number((n / el).toFixed(1)),
    latency_avg_ms: Number(((1000 * el * clients) / n).toFixed(3)),
  };
}

/** Runs the probe once per client count; returns {tool, results: [{clients, commits_per_s, latency_avg_ms}]}. */
export async function commitProbe(url, clientCounts, seconds) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial PRIMARY KEY, v int NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
  );
  const bin = findPgbench();
  const results = [];
  try {
    for (const clients of clientCounts) {
      const r = bin ? await viaPgbench(bin, url, clients, seconds) : await viaNode(url, clients, seconds);
      results.push({ clients, ...r });
    }
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await admin.end();
  }
  return {
    tool: bin
      ? `pgbench (${bin}), single-row INSERT script, -T ${seconds}`
      : `node pg loop, single-row INSERT, ${seconds} s`,
    results,
  };
}
