#!/usr/bin/env node
// Scaling: one worker against two, runs interleaved on the same machine, against DESIGN.md's target
// "with 100 ms injected latency at the parser and embedder: 2 workers >= 1.9x one worker".
//
// Each round runs bench.mjs twice on the same build, once with --workers 1 and once with --workers 2, alternating
// which goes first (1 2, 2 1, ...) so that the machine's drift weighs on both alike. The summary gives each round's
// ratio (2 workers' docs/min over 1 worker's), over the whole run and over the steady state (10 % to 90 % of the
// completions), and the median of the rounds' ratios, with the verdict.
//
//   npm run bench:scale [-- --rounds 3 --out DIR --docs 1200 --concurrency 2 --latency-ms 100 -- <more bench.mjs options>]
//
// The defaults are the setting performance.md measures the target in: the backlog is uploaded first (--preload), so
// the run measures the workers' drain rate; 2 slots a worker keep one worker below the CPU of this 2-core machine, so
// that what is measured is how a second worker adds to the first, not how two share saturated cores.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBuilt, ROOT } from './lib/stack.mjs';
import { cpuMsPerDoc, interleaved, isWorker, logger, median, parseCli, runBench } from './lib/runs.mjs';
import { fmt, table } from './lib/stats.mjs';

const TARGET = 1.9;
const USAGE = `usage: node tools/bench/scale.mjs [options] [-- <more bench.mjs options>]
  --rounds N         pairs of runs, one with 1 worker and one with 2 (default 3)
  --docs N           documents a run (default 1200)
  --concurrency N    slots a worker (WORKER_CONCURRENCY, default 2)
  --latency-ms N     injected latency at the parser and the embedder (default 100, the target's setting)
  --out DIR          where each run's table and JSON go, and scale.json (default tmp/bench/scale-<time>)
  after --, options for every bench.mjs run (always added: --preload --probe-docs 0 --search-chunks 0)`;

const { values: args, positionals } = parseCli(
  {
    rounds: { type: 'string', default: '3' },
    docs: { type: 'string', default: '1200' },
    concurrency: { type: 'string', default: '2' },
    'latency-ms': { type: 'string', default: '100' },
    out: { type: 'string' },
  },
  USAGE,
);
const int = (name, min) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}, got "${args[name]}"\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
};
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const rounds = int('rounds', 1);
const common = [
  '--docs', String(int('docs', 10)),
  '--concurrency', String(int('concurrency', 1)),
  '--latency-ms', String(int('latency-ms', 0)),
  '--preload', '--probe-docs', '0', '--search-chunks', '0',
  ...positionals,
];
const log = logger('scale');
const out = resolve(args.out ?? join(ROOT, 'tmp', 'bench', `scale-${new Date().toISOString().replace(/[:.]/g, '-')}`));
mkdirSync(out, { recursive: true });
ensureBuilt(log);

/** The figures of one run that the comparison uses. */
function figures(r) {
  const t = r.throughput;
  return {
    docs_per_minute: t.docs_per_minute,
    steady_docs_per_minute: t.docs_per_minute_steady_10_90,
    complete: t.complete ?? null,
    worker_cpu_ms_per_doc: cpuMsPerDoc(r, isWorker),
    machine_busy_pct: t.cpu?.machine_busy_percent_of_all_cores ?? null,
  };
}

const runs = [];
for (let round = 1; round <= rounds; round++) {
  const pair = {};
  for (const workers of interleaved(round, 1, 2)) {
    log(`round ${round}: ${workers} worker(s)`);
    pair[workers] = figures(runBench([...common, '--workers', String(workers)], out, `r${round}-w${workers}`));
  }
  const ratio = (k) => (pair[1][k] ? Number((pair[2][k] / pair[1][k]).toFixed(3)) : null);
  runs.push({ round, one: pair[1], two: pair[2], ratio: ratio('docs_per_minute'), steady_ratio: ratio('steady_docs_per_minute') });
  log(`round ${round}: ${fmt(pair[1].docs_per_minute, 0)} -> ${fmt(pair[2].docs_per_minute, 0)} docs/min, x${fmt(runs.at(-1).ratio, 2)}`);
}

const ratio = median(runs.map((r) => r.ratio));
const steadyRatio = median(runs.map((r) => r.steady_ratio));
const result = {
  benchmark: '1 worker against 2, interleaved runs of bench.mjs',
  target: `2 workers >= ${TARGET}x 1 worker`,
  bench_args: common,
  runs,
  median: { ratio, steady_ratio: steadyRatio },
  verdict: ratio === null ? 'n/a' : ratio >= TARGET ? 'met' : 'missed',
};
writeFileSync(join(out, 'scale.json'), `${JSON.stringify(result, null, 2)}\n`);

process.stdout.write(
  `bench options: ${common.join(' ')}\n\n` +
    table([
      ['round', '1 worker docs/min', 'steady', '2 workers docs/min', 'steady', 'ratio', 'steady ratio', 'worker CPU ms/doc 1 -> 2', 'machine busy % 1 -> 2'],
      ...runs.map((r) => [
        String(r.round),
        fmt(r.one.docs_per_minute, 0),
        fmt(r.one.steady_docs_per_minute, 0),
        fmt(r.two.docs_per_minute, 0),
        fmt(r.two.steady_docs_per_minute, 0),
        fmt(r.ratio, 2),
        fmt(r.steady_ratio, 2),
        `${fmt(r.one.worker_cpu_ms_per_doc)} -> ${fmt(r.two.worker_cpu_ms_per_doc)}`,
        `${fmt(r.one.machine_busy_pct, 0)} -> ${fmt(r.two.machine_busy_pct, 0)}`,
      ]),
    ]) +
    `\n\n2 workers >= ${TARGET}x 1 worker at ${args['latency-ms']} ms: median ratio ${fmt(ratio, 3)} (steady state ${fmt(steadyRatio, 3)}): ${result.verdict.toUpperCase()}\n` +
    `runs in ${out}\n`,
);
