// Running bench.mjs as a child and comparing runs: shared by ab.mjs (two builds) and scale.mjs (two worker counts).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './stack.mjs';

/** The node arguments of one bench.mjs run with `argv`, its --json going to `<out>/<name>.json`. */
function benchArgv(argv, out, name) {
  return [join(ROOT, 'tools/bench/bench.mjs'), ...argv, '--json', join(out, `${name}.json`)];
}

/** A finished run: its output to `<out>/<name>.txt`, then its JSON, or an error naming the file that says why. */
function finishRun(out, name, status, output) {
  writeFileSync(join(out, `${name}.txt`), output);
  if (status !== 0) throw new Error(`bench ${name} failed (exit ${status}); see ${join(out, `${name}.txt`)}`);
  return JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8'));
}

/**
 * One bench.mjs run with `argv` (its --json goes to `<out>/<name>.json`, its table and log to `<name>.txt`);
 * returns the parsed JSON. Throws when the run fails, naming the file that says why.
 */
export function runBench(argv, out, name) {
  const r = spawnSync(process.execPath, benchArgv(argv, out, name), { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // synchronously: a stream's write would wait for the event loop, which the caller's next run blocks
  return finishRun(out, name, r.status, `${r.stderr}${r.stdout}`);
}

/** runBench, without blocking: for runs that go at the same time (ab.mjs --together). */
export function runBenchAsync(argv, out, name) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, benchArgv(argv, out, name), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (d) => output.push(d));
    child.stderr.on('data', (d) => output.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolvePromise(finishRun(out, name, code, Buffer.concat(output)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** CPU ms a document of the run's processes whose name passes `pred` (all by default), summed, to 0.1 ms. */
export function cpuMsPerDoc(run, pred = () => true) {
  const sum = Object.entries(run.throughput.cpu?.ms_per_doc ?? {})
    .filter(([k]) => pred(k))
    .reduce((n, [, v]) => n + v, 0);
  return Number(sum.toFixed(1));
}

/** Whether a process name of the run's CPU table is one of the workers (`worker-1`, `worker-2`, ...). */
export const isWorker = (name) => name.startsWith('worker');

/** Median of the finite numbers in `xs`; null when there are none. */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The order of the two sides in round `round` (1-based): A B, B A, A B, ... so that a drift weighs on both alike. */
export const interleaved = (round, a, b) => (round % 2 ? [a, b] : [b, a]);

/** Timestamped progress line on stderr. */
export const logger = (tag) => (m) => process.stderr.write(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** parseArgs with positionals after `--` and a `--help`/`-h` flag; a bad option prints `usage` and exits 2. */
export function parseCli(options, usage) {
  try {
    return parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`${e.message}\n${usage}\n`);
    process.exit(2);
  }
}
