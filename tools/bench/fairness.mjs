// How long one user's single upload waits behind another user's backlog, and what a claim costs at that backlog.
//
//   node tools/bench/fairness.mjs [--baseline <git ref>] [--backlog 2000] [--runs 100]
//
// Starts an embedded PostgreSQL, migrates it with the working tree's migrations (through ts-node), and runs the
// working tree's ClaimService (and, with --baseline, that ref's claim.service.ts, read with `git show`) directly:
// - wait: user A has `--backlog` queued jobs, then user B uploads one; claims of 1 (a busy worker refilling a slot)
//   and of 16 (a worker's batch) run until B's job comes: the claims and A's jobs claimed before it (documents' time);
// - cost: with A's backlog kept at `--backlog` or more (plus B's job), the mean and p50 of `--runs` claims of 16
//   timed at the client (one round trip each), and the mean execution time of the claim's generic plan
//   (EXPLAIN ANALYZE, rolled back).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../dev/embedded-pg.mjs';

const root = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    backlog: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '100' },
  },
});
const BACKLOG = Number(args.backlog);
const RUNS = Number(args.runs);
const USER_A = 'aaaaaaaa-0000-4000-8000-000000000000';
const USER_B = '55555555-0000-4000-8000-000000000000'; // below A: the walk over users does not start with B by luck
const USER_B2 = 'bbbbbbbb-0000-4000-8000-000000000000'; // above A

// the TypeScript sources, compiled on load
process.env.TS_NODE_PROJECT = join(root, 'tsconfig.base.json');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
const require = createRequire(import.meta.url);
require('ts-node/register');
require('tsconfig-paths/register');
const { createDataSource, migrateDatabase } = require(join(root, 'libs/database/src/index.ts'));

const impls = [['working tree', require(join(root, 'libs/jobs/src/lib/store/claim.service.ts')).ClaimService]];
if (args.baseline) {
  const dir = join(root, 'tmp', 'bench-fairness');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `claim-${args.baseline.replace(/[^\w.-]/g, '_')}.service.ts`);
  writeFileSync(file, execFileSync('git', ['show', `${args.baseline}:libs/jobs/src/lib/store/claim.service.ts`], { cwd: root }));
  impls.unshift([`baseline ${args.baseline}`, require(file).ClaimService]);
}

const pg = await startEmbeddedPostgres({ dataDir: mkdtempSync(join(tmpdir(), 'ingest-fairness-pg-')), persistent: false, fast: true });
const url = pg.url.replace(/\/postgres$/, '/fairness');
let ds;
try {
  const admin = createDataSource({ url: pg.url, poolSize: 1 });
  await admin.initialize();
  await admin.query('CREATE DATABASE fairness');
  await admin.destroy();
  await migrateDatabase({ url });
  ds = createDataSource({ url, poolSize: 4 });
  await ds.initialize();

  const insert = (n, userId, ageS) =>
    ds.query(
      `WITH d AS (
         INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
         SELECT $2::uuid, 'f' || g, 'text/markdown', 10, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), 'raw/' || g
         FROM generate_series(1, $1::int) g RETURNING document_id, user_id, filename
       )
       INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id, created_at)
       SELECT document_id, user_id, 'job_validated', 'queued', 's', 'text-embedding-3-small', 'c',
              now() - $3 * interval '1 second' + substr(filename, 2)::int * interval '1 millisecond'
       FROM d RETURNING job_id`,
      [n, userId, ageS],
    );
  const reset = async (extra = 0) => {
    await ds.query('DELETE FROM upload_pipeline.documents');
    await ds.query('DELETE FROM upload_pipeline.events');
    await insert(BACKLOG + extra, USER_A, 3600);
    await ds.query('VACUUM ANALYZE upload_pipeline.upload_jobs');
  };

  const results = [];
  for (const [name, ClaimService] of impls) {
    const r = { name, wait: {} };
    // the wait: B's one job behind A's backlog
    for (const n of [1, 16]) {
      for (const b of [USER_B, USER_B2]) {
        await reset();
        const [{ job_id: single }] = await insert(1, b, 0);
        const claims = new ClaimService(ds, { workerId: `w-${n}`, leaseMs: 60_000 });
        let k = 0;
        let before = 0;
        for (;;) {
          const got = (await claims.claim(n)).map((c) => c.jobId);
          k++;
          if (got.includes(single)) {
            before += got.length - 1; // claimed with it
            break;
          }
          if (!got.length) throw new Error('the queue ran dry before B was claimed');
          before += got.length;
        }
        r.wait[`n=${n}, B ${b === USER_B ? '<' : '>'} A`] = { claims: k, jobsClaimedWithOrBefore: before };
      }
    }
    // the cost at the backlog
    await reset(RUNS * 16);
    await insert(1, USER_B, 0);
    const claims = new ClaimService(ds, { workerId: 'w', leaseMs: 60_000 });
    await claims.claim(16); // prepared, planned
    const ms = [];
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      await claims.claim(16);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    r.claimMs = { mean: +(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(3), p50: +ms[ms.length >> 1].toFixed(3) };
    // the generic plan's execution, rolled back
    await reset();
    await insert(1, USER_B, 0);
    const text = claims.statement(16).text;
    // (worker, lease ms, last user served, claim size: the size is bound since the claim is one statement for sizes up to 16)
    const params = text.includes('$4')
      ? `('w', 60000, '00000000-0000-0000-0000-000000000000', 16)`
      : text.includes('$3')
        ? `('w', 60000, '00000000-0000-0000-0000-000000000000')`
        : `('w', 60000)`;
    const runner = ds.createQueryRunner();
    await runner.connect();
    const exec = [];
    const rowsRead = [];
    try {
      await runner.query('SET plan_cache_mode = force_generic_plan');
      await runner.query(`PREPARE fair_check AS ${text}`);
      for (let i = 0; i < 20; i++) {
        await runner.query('BEGIN');
        const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE fair_check${params}`);
        await runner.query('ROLLBACK');
        exec.push(row['QUERY PLAN'][0]['Execution Time']);
        rowsRead.push(jobRowsRead(row['QUERY PLAN'][0].Plan));
      }
    } finally {
      await runner.query('DEALLOCATE fair_check').catch(() => undefined);
      await runner.release();
    }
    r.planExecutionMs = +(exec.reduce((a, b) => a + b, 0) / exec.length).toFixed(3);
    r.planJobRowsRead = rowsRead[rowsRead.length - 1];
    results.push(r);
  }
  console.log(JSON.stringify({ backlog: BACKLOG, runs: RUNS, results }, null, 2));
} finally {
  await ds?.destroy();
  await pg.stop();
}

/** Rows that scans of upload_jobs picking candidates produced or threw away (not the join back by job_id). */
function jobRowsRead(plan) {
  let n = 0;
  const walk = (node) => {
    if (node['Relation Name'] === 'upload_jobs' && /Scan/.test(node['Node Type']) && node['Index Name'] && node['Index Name'] !== 'upload_jobs_pkey') {
      n += node['Actual Rows'] * node['Actual Loops'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
    }
    for (const c of node.Plans ?? []) walk(c);
  };
  walk(plan);
  return n;
}
