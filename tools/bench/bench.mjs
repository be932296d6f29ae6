#!/usr/bin/env node
// End-to-end benchmark of the ingestion pipeline (DESIGN.md "Targets").
//
//   node tools/bench/bench.mjs [--docs 2000] [--size small|medium|large|max] [--workers 1] [--concurrency 16]
//                              [--latency-ms 0] [--url http://... --database-url postgres://...] [--json out.json]
//
// Needs the built apps (`npx nx run-many -t build`; done here only when dist/apps/<app>/main.js is missing).
// Without --url it starts its own stack: a throwaway embedded PostgreSQL with DURABLE defaults (fsync,
// synchronous_commit, full_page_writes all on: the test clusters' fast settings are NOT used), the
// database migrated, mock-openai and mock-llamaparse (with --latency-ms injected into both), the api and
// N workers, each a process on a free port. Then it:
//   1. uploads --docs generated markdown documents (unique content, POST + PUT, --upload-concurrency at a
//      time) and waits until all are complete: documents/minute from the first upload confirmed to the last
//      complete; per-stage pickup latency (queued -> claimed) and working time from the events table;
//      upload-confirmed -> complete; worker RSS (VmRSS every 200 ms); CPU per process; database commits
//      and WAL flushes per document;
//   2. uploads --probe-docs more, one at a time, on the idle system: confirm -> complete and pickup latency
//      without a backlog; with --poison, hostile documents and normal ones beside them (lib/poison.mjs);
//   3. measures the server's commit rate (single-row INSERT commits, pgbench when installed) so the
//      pipeline's commits read as a fraction of the physical limit;
//   4. search latency (top-10 over --search-chunks chunks) when the api has POST /api/v2/search.
// Prints a table on stdout (progress on stderr) and writes everything as JSON with --json.
//
// The parts are in lib/: options.mjs (command line), target.mjs (the stack under test), bench-db.mjs (the
// bench's database connection and counters), throughput.mjs with load.mjs, sampling.mjs, events.mjs and
// worker-metrics.mjs (phases 1 and 2), commit-rate.mjs (3), search-phase.mjs (4), report.mjs (JSON and table).
import { randomUUID } from 'node:crypto';
import { openBenchDb } from './lib/bench-db.mjs';
import { signToken } from './lib/client.mjs';
import { measureCommitRate } from './lib/commit-rate.mjs';
import { generateDocuments, idleProbe, meanBytes } from './lib/load.mjs';
import { parseOptions } from './lib/options.mjs';
import { poisonProbe } from './lib/poison.mjs';
import { formatReport, newResults, writeResultsJson } from './lib/report.mjs';
import { measureSearch } from './lib/search-phase.mjs';
import { closeTarget, openTarget } from './lib/target.mjs';
import { measureThroughput } from './lib/throughput.mjs';

const { args, o } = parseOptions();
const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const runId = randomUUID().slice(0, 8);

const target = await openTarget(o, args, log);
const db = await openBenchDb(target.databaseUrl, log);
const results = newResults(o, target);
let exitCode = 0;
try {
  const token = signToken(target.jwtSecret, randomUUID());
  const docs = generateDocuments(o, runId, log);
  results.settings.doc_bytes_mean = meanBytes(docs);

  // 1. throughput
  const run = await measureThroughput({
    o,
    target,
    db,
    docs,
    token,
    runId,
    workerUrls: args['worker-url'],
    log,
  });
  if (run.failed) exitCode = 1;
  results.throughput = run.throughput;
  // 2. idle latency probe
  if (o.probeDocs > 0) {
    const probe = await idleProbe({ o, apiUrl: target.apiUrl, token, db, runId, log });
    if (probe.failed) exitCode = 1;
    results.idle_probe = probe.summary;
  }
  // 2b. normal documents beside poison ones
  if (o.poison) {
    const pp = await poisonProbe({ o, apiUrl: target.apiUrl, jwtSecret: target.jwtSecret, db, runId, log });
    if (pp.failed) exitCode = 1;
    results.poison_probe = pp.summary;
  }
  // 3. commit rate
  if (o.probeClients.length)
    results.commit_probe = await measureCommitRate({
      o,
      databaseUrl: target.databaseUrl,
      throughput: results.throughput,
      delta: run.delta,
      wallS: run.wallS,
      log,
    });
  // 4. search
  results.search = await measureSearch({ o, target, db, token, runId, log });
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  results.error = String(e.message ?? e);
  exitCode = 1;
} finally {
  await db.end();
  await closeTarget(target, log);
}

results.finished_at = new Date().toISOString();
if (args.json) writeResultsJson(args.json, results);
process.stdout.write(formatReport(results));
process.exit(exitCode);
