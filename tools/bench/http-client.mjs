#!/usr/bin/env node
// CPU a request of the HTTP clients the apps could use, on this machine: Node's fetch and undici's request (the
// version Node bundles), for the calls the worker makes to the parser (a GET of a small JSON answer, a multipart
// upload) and to the embedder (a JSON POST). The server runs in a child process, so only the client's CPU
// (process.cpuUsage) is counted. Why the LlamaParse driver uses undici's request: docs/performance.md.
//
//   node tools/bench/http-client.mjs [--requests 3000] [--json FILE]
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

if (process.argv[2] === '--serve') {
  // the parser's markdown answer is about this size for the benchmark's small documents
  const answer = JSON.stringify({ id: 'job', status: 'SUCCESS', markdown: 'x'.repeat(1800) });
  createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  }).listen(0, '127.0.0.1', function () {
    process.send(this.address().port);
  });
} else {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '3000' }, json: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: node tools/bench/http-client.mjs [--requests 3000] [--json FILE]');
    process.exit(0);
  }
  const n = Number(values.requests);
  if (!Number.isInteger(n) || n < 1) throw new Error('--requests must be a positive integer');
  const { request } = await import('undici');
  const server = fork(fileURLToPath(import.meta.url), ['--serve']);
  const port = await new Promise((resolve) => server.once('message', resolve));
  const url = `http://127.0.0.1:${port}/`;
  const file = Buffer.alloc(1800, 'a');
  const form = () => {
    const f = new FormData();
    f.append('file', new Blob([file], { type: 'text/markdown' }), 'a.md');
    f.append('result_type', 'markdown');
    return f;
  };
  const json = JSON.stringify({ model: 'text-embedding-3-small', input: ['a'.repeat(1800)], encoding_format: 'base64' });
  const signal = () => AbortSignal.timeout(5000);
  const cases = [
    ['GET, small JSON answer', 'fetch', async () => (await fetch(url, { headers: { authorization: 'Bearer k' }, signal: signal() })).json()],
    ['GET, small JSON answer', 'undici request', async () => (await request(url, { headers: { authorization: 'Bearer k' }, signal: signal() })).body.json()],
    ['POST multipart (1.8 KB file)', 'fetch', async () => (await fetch(url, { method: 'POST', body: form(), signal: signal() })).json()],
    ['POST multipart (1.8 KB file)', 'undici request', async () => (await request(url, { method: 'POST', body: form(), signal: signal() })).body.json()],
    ['POST JSON', 'fetch', async () => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: signal() })).json()],
    ['POST JSON', 'undici request', async () => (await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: signal() })).body.json()],
  ];
  const rows = [];
  for (const [call, client, fn] of cases) {
    for (let i = 0; i < Math.min(300, n); i++) await fn(); // warm-up: JIT, keep-alive connection
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    rows.push({ call, client, cpu_us_per_request: Math.round((cpu.user + cpu.system) / n), wall_us_per_request: Math.round((wall * 1000) / n) });
  }
  server.kill();
  const w = [30, 15, 18, 19];
  const line = (c) => c.map((v, i) => String(v).padEnd(w[i])).join('  ');
  console.log(`node ${process.version}, ${n} sequential requests a case, client CPU only`);
  console.log(line(['call', 'client', 'CPU us/request', 'wall us/request']));
  console.log(line(w.map((k) => '-'.repeat(k))));
  for (const r of rows) console.log(line([r.call, r.client, r.cpu_us_per_request, r.wall_us_per_request]));
  if (values.json) writeFileSync(values.json, JSON.stringify({ node: process.version, requests: n, rows }, null, 2));
  process.exit(0);
}
