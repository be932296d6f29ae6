#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `--cpu-prof` of bench.mjs / http-load.mjs): self time by package
// (node_modules/<pkg>, node internals, the app bundle, GC, idle) and the hottest functions.
//
//   node tools/bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { scriptPackage } from './lib/script-package.mjs';
import { table } from './lib/stats.mjs';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node tools/bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--json]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}

function pkgOf(url, fn) {
  if (!url) return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  return scriptPackage(url);
}

const byPkg = new Map();
const byFn = new Map();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const { functionName, url, lineNumber } = n.callFrame;
  const fn = functionName || '(anonymous)';
  const pkg = pkgOf(url, fn);
  total += us;
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  const key = `${fn}  [${pkg}${url && !url.includes('node_modules') && !url.startsWith('node:') ? `:${lineNumber + 1}` : ''}]`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
}
const top = Number(values.top);
const rows = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => ({
      name: k,
      ms: Math.round(us / 1000),
      percent: Number(((100 * us) / total).toFixed(1)),
    }));
const out = {
  file: positionals[0],
  total_ms: Math.round(total / 1000),
  by_package: rows(byPkg),
  by_function: rows(byFn),
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  process.stdout.write(`${out.file}: ${out.total_ms} ms sampled\n\n`);
  process.stdout.write(
    `${table([['self time by package', 'ms', '%'], ...out.by_package.map((r) => [r.name, r.ms, r.percent])])}\n\n`,
  );
  process.stdout.write(
    `${table([['self time by function', 'ms', '%'], ...out.by_function.map((r) => [r.name.slice(0, 110), r.ms, r.percent])])}\n`,
  );
}
