#!/usr/bin/env node
// A/B benchmark: this checkout against another commit, runs interleaved on the same machine.
//
// A shared host drifts by 20 % and more within minutes (stop 12 measured the same build at 1,540 and then
// 1,853 docs/min a quarter of an hour apart), so a before/after pair run at different times says little.
// This tool builds the base commit in a git worktree ($TMPDIR/ingest-bench-ab-<sha>, its node_modules linked to
// this checkout's), builds this checkout, then runs bench.mjs --rounds times for each, alternating the order
// (A B, B A, A B, ...) so that a drift weighs on both sides alike. Each run's table and JSON go to --out;
// the summary compares each pair (B / A) and gives the medians. The benchmark script is this checkout's
// for both sides (--app-root points it at the base's dist/ and its app commands), so both are measured alike.
//
// With --together, each round runs A and B at the same time instead, each with its own stack: both then see the same
// machine at the same moment, and only the ratios mean something (each side has about half the cores). Round 16 saw
// the same build measure 23.1 to 30.2 ms a document within a quarter of an hour, and one after the other the pairs'
// ratios were 0.82, 1.30 and 1.04.
//
//   node tools/bench/ab.mjs --base <commit> [--rounds 3] [--together] [--out DIR] [--keep-worktree] [-- <bench.mjs options>]
//
// Without bench options it runs `--probe-docs 0 --search-chunks 0` (the 2,000-document run with uploads).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT } from './lib/stack.mjs';
import { cpuMsPerDoc, interleaved, isWorker, logger, median, parseCli, runBench, runBenchAsync } from './lib/runs.mjs';
import { fmt, table } from './lib/stats.mjs';

const USAGE = `usage: node tools/bench/ab.mjs --base <commit> [--rounds N] [--together] [--out DIR] [--keep-worktree] [-- <bench.mjs options>]
  --base REV        the commit to compare with (A); this checkout, as built from its working tree, is B
  --rounds N        pairs of runs (default 3)
  --out DIR         where each run's table and JSON go (default tmp/bench/ab-<time>)
  --together        run A and B at the same time in each round (same machine state; ratios only)
  --keep-worktree   keep the base's worktree and build for the next comparison (default: removed at the end)
  after --, options for every bench.mjs run (default: --probe-docs 0 --search-chunks 0)`;

const { values: args, positionals } = parseCli(
  {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
    'keep-worktree': { type: 'boolean', default: false },
    together: { type: 'boolean', default: false },
  },
  USAGE,
);
const rounds = Number(args.rounds);
if (args.help || !args.base || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(args.help ? 0 : 2);
}
const benchArgs = positionals.length ? positionals : ['--probe-docs', '0', '--search-chunks', '0'];
const log = logger('ab');

function run(cmd, argv, cwd, env = {}) {
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} (in ${cwd}) failed: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

const APPS = 'api,worker,mock-llamaparse,mock-openai';
const build = (cwd) => run('npx', ['nx', 'run-many', '-t', 'build', '-p', APPS, '--outputStyle=static'], cwd, { NX_DAEMON: 'false' });

const baseSha = run('git', ['rev-parse', '--verify', `${args.base}^{commit}`], ROOT);
const headSha = run('git', ['rev-parse', 'HEAD'], ROOT);
const dirty = run('git', ['status', '--porcelain', '--untracked-files=no'], ROOT) !== '';
// outside this checkout, so that Nx, Jest and ESLint here never see a second copy of the projects
const worktree = join(tmpdir(), `ingest-bench-ab-${baseSha.slice(0, 12)}`);
const out = resolve(args.out ?? join(ROOT, 'tmp', 'bench', `ab-${new Date().toISOString().replace(/[:.]/g, '-')}`));
mkdirSync(out, { recursive: true });

if (!existsSync(join(worktree, '.git'))) {
  log(`A: worktree of ${baseSha.slice(0, 12)} in ${worktree}`);
  run('git', ['worktree', 'add', '--detach', '--force', worktree, baseSha], ROOT);
}
if (!existsSync(join(worktree, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(worktree, 'node_modules'));
log('A: building');
build(worktree);
log(`B: building this checkout (${headSha.slice(0, 12)}${dirty ? ' with uncommitted changes' : ''})`);
build(ROOT);

const sideArgs = (side) => (side === 'A' ? [...benchArgs, '--app-root', worktree] : benchArgs);
const runName = (side, round) => `${String(round).padStart(2, '0')}-${side}`;

/** One bench.mjs run of `side`; returns its JSON. */
function bench(side, round) {
  log(`round ${round}: ${side} (${side === 'A' ? baseSha.slice(0, 12) : 'this checkout'})`);
  return runBench(sideArgs(side), out, runName(side, round));
}

/** The figures compared, from one run's JSON. */
function figures(r) {
  const t = r.throughput;
  const cpu = t.cpu?.ms_per_doc ?? {};
  return {
    docs_per_minute: t.docs_per_minute,
    steady_docs_per_minute: t.docs_per_minute_steady_10_90,
    cpu_ms_per_doc_total: cpuMsPerDoc(r),
    cpu_ms_per_doc_worker: cpuMsPerDoc(r, isWorker),
    cpu_ms_per_doc_postgres: cpu.postgres ?? null,
    cpu_ms_per_doc_api: cpu.api ?? null,
    commits_per_doc: t.database?.commits_per_doc ?? null,
    write_xacts_per_doc: t.database?.write_xacts_per_doc ?? null,
  };
}

const runs = [];
for (let round = 1; round <= rounds; round++) {
  if (args.together) {
    log(`round ${round}: A (${baseSha.slice(0, 12)}) and B (this checkout) at the same time`);
    const [a, b] = await Promise.all(['A', 'B'].map((side) => runBenchAsync(sideArgs(side), out, runName(side, round))));
    runs.push({ round, order: 'AB', A: figures(a), B: figures(b) });
    continue;
  }
  const order = interleaved(round, 'A', 'B');
  const pair = {};
  for (const side of order) pair[side] = figures(bench(side, round));
  runs.push({ round, order: order.join(''), A: pair.A, B: pair.B });
}

const keys = Object.keys(runs[0].A);
const summary = Object.fromEntries(
  keys.map((k) => {
    const a = median(runs.map((r) => r.A[k]));
    const b = median(runs.map((r) => r.B[k]));
    const ratio = median(runs.map((r) => (r.A[k] ? r.B[k] / r.A[k] : NaN)));
    return [k, { A: a, B: b, ratio_B_over_A: ratio === null ? null : Number(ratio.toFixed(3)) }];
  }),
);
const result = {
  benchmark: args.together ? 'A/B, runs of bench.mjs at the same time' : 'A/B, interleaved runs of bench.mjs',
  base: { rev: args.base, sha: baseSha },
  head: { sha: headSha, uncommitted_changes: dirty },
  bench_args: benchArgs,
  runs,
  median: summary,
};
writeFileSync(join(out, 'ab.json'), `${JSON.stringify(result, null, 2)}\n`);
if (!args['keep-worktree']) {
  log('removing the worktree');
  run('git', ['worktree', 'remove', '--force', worktree], ROOT);
}

const rows = [];
for (const r of runs) {
  for (const side of r.order.split('')) {
    const f = r[side];
    rows.push([`${r.round} ${side}`, ...keys.map((k) => fmt(f[k]))]);
  }
}
process.stdout.write(
  `A = ${baseSha.slice(0, 12)} (${args.base}), B = this checkout ${headSha.slice(0, 12)}${dirty ? ' + uncommitted changes' : ''}\n` +
    `bench options: ${benchArgs.join(' ')}\n\n` +
    table([['run', ...keys], ...rows]) +
    '\n\nmedians and the median of the pairs\' ratios (B / A)\n' +
    table([
      ['figure', 'A', 'B', 'B / A'],
      ...keys.map((k) => [k, fmt(summary[k].A), fmt(summary[k].B), fmt(summary[k].ratio_B_over_A, 3)]),
    ]) +
    `\n\nruns in ${out}\n`,
);
