#!/usr/bin/env node
// What a running Node.js process allocates, garbage included: V8's sampling heap profiler over the inspector, with
// the objects the young and the old generation's collections freed kept in the profile (--heap-prof keeps only what
// is still alive at the end, which says nothing about the GC's work). For the worker, whose GC threads are a third
// of its CPU (performance.md, round 16).
//
//   npm run bench -- --docs 3000 ...   (in another shell)
//   node --experimental-websocket tools/bench/alloc-profile.mjs --pid <pid> [--seconds 15] [--top 40] [--out p.heapprofile]
//
// It sends the process SIGUSR1 (Node opens its inspector on 127.0.0.1:9229), samples every --interval bytes, and
// prints the allocated bytes by package and by function of the allocating frame; --out saves the profile for Chrome's
// DevTools. One process at a time: the inspector's port is the default one.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { scriptPackage } from './lib/script-package.mjs';
import { fmt, table } from './lib/stats.mjs';

const { values } = parseArgs({
  options: {
    pid: { type: 'string' },
    seconds: { type: 'string', default: '15' },
    interval: { type: 'string', default: '16384' },
    top: { type: 'string', default: '40' },
    port: { type: 'string', default: '9229' },
    out: { type: 'string' },
  },
});
if (!values.pid) throw new Error('--pid is required');
if (typeof WebSocket !== 'function') throw new Error('run with node --experimental-websocket (Node 20)');

process.kill(Number(values.pid), 'SIGUSR1');
let target;
for (let i = 0; i < 50 && !target; i++) {
  await sleep(100);
  target = await fetch(`http://127.0.0.1:${values.port}/json/list`)
    .then((r) => r.json())
    .then((list) => list[0])
    .catch(() => undefined);
}
if (!target) throw new Error(`no inspector on port ${values.port} after SIGUSR1`);

const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = reject;
});
let nextId = 1;
const pending = new Map();
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  const p = pending.get(msg.id);
  if (!p) return;
  pending.delete(msg.id);
  if (msg.error) p.reject(new Error(msg.error.message));
  else p.resolve(msg.result);
};
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });

await send('HeapProfiler.enable');
await send('HeapProfiler.startSampling', {
  samplingInterval: Number(values.interval),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await sleep(Number(values.seconds) * 1000);
const { profile } = await send('HeapProfiler.stopSampling');
await send('HeapProfiler.disable');
ws.close();
if (values.out) writeFileSync(values.out, JSON.stringify(profile));

const byPackage = new Map();
const byFunction = new Map();
let total = 0;
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
(function walk(node) {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  if (node.selfSize > 0) {
    total += node.selfSize;
    add(byPackage, url ? scriptPackage(url) : '(native or no script)', node.selfSize);
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}:${columnNumber + 1}` : '';
    add(byFunction, `${functionName || '(anonymous)'} ${where}`.trim(), node.selfSize);
  }
  for (const c of node.children ?? []) walk(c);
})(profile.head);

const seconds = Number(values.seconds);
const rows = (m) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top))
    .map(([k, v]) => [k, fmt(v / 1048576 / seconds, 2), fmt((100 * v) / total)]);
console.log(`${fmt(total / 1048576, 1)} MiB allocated in ${seconds} s (${fmt(total / 1048576 / seconds, 2)} MiB/s), sampled every ${values.interval} bytes\n`);
console.log(table([['by package of the allocating frame', 'MiB/s', '%'], ...rows(byPackage)]));
console.log();
console.log(table([['by allocating function', 'MiB/s', '%'], ...rows(byFunction)]));
