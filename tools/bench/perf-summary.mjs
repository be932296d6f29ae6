#!/usr/bin/env node
// Summarizes Linux perf samples of a Node.js process: on-CPU time only (kernel included), by the package of the
// first JavaScript frame up each sample's stack, and by that frame's function. V8's own profiler (--cpu-prof) samples
// wall-clock time: on these 2-core virtual machines it charged a quarter of the api's time to `writev`, which was
// the process descheduled after waking the other end of a socket, not CPU (performance.md, round 15).
//
//   npm run bench:http -- --perf-map   (or npm run bench -- --perf-map: the apps name their JIT code for perf)
//   perf record -F 999 -g -p <pid of an app> -o app.perf -- sleep 15
//   perf script -i app.perf -F comm,pid,tid,ip,sym | node tools/bench/perf-summary.mjs [--top 40]
//
// The process's other threads (V8's GC and compiler threads, libuv's pool: fsync, file I/O) are counted apart as
// "helper threads", each by its leaf frames. A sample whose stack names no JavaScript (a native callback, a broken
// frame chain) is "(no JavaScript frame)".
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { scriptPackage } from './lib/script-package.mjs';
import { table } from './lib/stats.mjs';

const { values } = parseArgs({ options: { top: { type: 'string', default: '40' } } });
const top = Number(values.top);

const byPackage = new Map();
const byFunction = new Map();
const helpers = new Map();
let samples = 0;
const add = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);

/** The package of a frame's script (`JS:*fn /path/to/file.js:line:col`, `JS:*fn node:internal/...:line:col`). */
function packageOf(frame) {
  const url = /node:[\w/]+/.exec(frame)?.[0] ?? /(\/\S+\.(?:js|mjs|cjs))/.exec(frame)?.[1];
  return url ? scriptPackage(url) : null;
}

let current = null;
function flush() {
  if (!current) return;
  samples++;
  const { frames, pid, tid } = current;
  current = null;
  const leaf = (frames[0] ?? '?').replace(/\+0x[0-9a-f]+$/, '');
  if (pid !== tid) {
    add(byPackage, '(helper threads: GC, compiler, libuv pool)');
    add(helpers, leaf.slice(0, 100));
    return;
  }
  const js = frames.find((f) => /^(?:JS:|LazyCompile:|Function:)/.test(f) || /\.(?:js|mjs|cjs):\d+/.test(f) || /node:[a-z_]+/.test(f));
  if (!js) {
    add(byPackage, '(no JavaScript frame)');
    add(byFunction, `(no JavaScript frame) ${leaf.slice(0, 60)}`);
    return;
  }
  add(byPackage, packageOf(js) ?? '(unknown script)');
  add(byFunction, js.replace(/^(?:JS|LazyCompile|Function):[*~^]?/, '').replace(/\/\S*node_modules\//, '').replace(/\/\S*\/dist\/apps\//, 'dist/apps/').slice(0, 100));
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (/^\S/.test(line)) {
    flush();
    const m = /^\s*\S+\s+(\d+)\/(\d+)/.exec(line);
    if (m) current = { pid: m[1], tid: m[2], frames: [] };
    return;
  }
  if (!current) return;
  const t = line.trim();
  if (!t) return flush();
  current.frames.push(/^[0-9a-f]+\s+(.*)$/.exec(t)?.[1] ?? t);
});
rl.on('close', () => {
  flush();
  if (!samples) {
    process.stderr.write('no samples: pipe `perf script -F comm,pid,tid,ip,sym` output into this\n');
    process.exit(1);
  }
  const rows = (m, title) => [
    [title, 'samples', '%'],
    ...[...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, v, ((100 * v) / samples).toFixed(1)]),
  ];
  process.stdout.write(`${samples} samples on CPU\n\n${table(rows(byPackage, 'by package of the first JavaScript frame'))}\n\n`);
  process.stdout.write(`${table(rows(byFunction, 'by first JavaScript frame'))}\n\n${table(rows(helpers, 'helper threads, by leaf frame'))}\n`);
});
