#!/usr/bin/env node
// Peer benchmark: this pipeline against LlamaIndex's TypeScript IngestionPipeline on the same parser, embedder and
// documents (DESIGN.md "Targets": ahead in docs/min and CPU a document, while durable).
//
//   npm run bench:peer [-- --docs 200 --rounds 2 --size small --concurrency 16 --json FILE]
//
// One stack is started as bench.mjs starts it (lib/target.mjs: embedded PostgreSQL with durable defaults, the
// migrated database, mock-openai, mock-llamaparse, the api and the workers). The same generated documents
// (lib/load.mjs) then go, in each round, through both sides, in interleaved order (ours peer, peer ours, ...):
//   ours: uploaded through the api (POST + PUT, --upload-concurrency at a time, a new user each round so the
//         per-user dedup does not skip them) and waited for until complete, measured by lib/throughput.mjs
//         (docs/min from the first upload confirmed to the last complete; CPU of api, workers, PostgreSQL, mocks);
//   peer: lib/peer-llamaindex.mjs in its own process (lib/peer-run.mjs): LlamaParseReader at the same
//         mock-llamaparse, SentenceSplitter (the worker's chunk size and overlap), OpenAIEmbedding at the same
//         mock-openai, SimpleDocumentStore + SimpleVectorStore persisted to a fresh directory (docs/min from the
//         go signal to the last pipeline.run stored; CPU of the peer process and the mocks).
// Prints a table on stdout (progress on stderr) and writes the JSON to --json (default tmp/bench/peer-<time>.json).
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openBenchDb } from './lib/bench-db.mjs';
import { signToken } from './lib/client.mjs';
import { generateDocuments, meanBytes } from './lib/load.mjs';
import { machineInfo } from './lib/machine.mjs';
import { parseOptions } from './lib/options.mjs';
import { GUARANTEES, figures, formatPeerReport, summarize } from './lib/peer-report.mjs';
import { runPeer, writeDocs } from './lib/peer-run.mjs';
import { interleaved, logger, parseCli } from './lib/runs.mjs';
import { ROOT } from './lib/stack.mjs';
import { closeTarget, openTarget } from './lib/target.mjs';
import { measureThroughput } from './lib/throughput.mjs';

const USAGE = `usage: node tools/bench/peer.mjs [options]
  --docs N               documents a run, the same ones for both sides (default 200)
  --rounds N             pairs of runs, order alternating: ours peer, peer ours, ... (default 2)
  --size S               small | medium | large (bench.mjs's generator; default small)
  --workers N            our worker processes (default 1)
  --concurrency N        our WORKER_CONCURRENCY, and the peer's parses in flight (default 16)
  --upload-concurrency N our uploads in flight from the client (default 16)
  --latency-ms N         latency injected into both mocks (default 0)
  --chunk-size N         the peer's SentenceSplitter chunkSize, tokens (default 512 = the worker's CHUNK_MAX_TOKENS)
  --chunk-overlap N      the peer's chunkOverlap (default 0 = the worker's CHUNK_OVERLAP_TOKENS)
  --embed-batch N        the peer's OpenAIEmbedding embedBatchSize (default 10, LlamaIndex's default)
  --peer-batch N         most parsed documents one pipeline.run takes (default 64)
  --peer-check-s S       LlamaParseReader checkInterval, seconds (default 0.05; its own default 1 s would
                         measure the poll interval, not the pipeline)
  --timeout-s N          give up on one run after this long (default 900)
  --json FILE            where the results go (default tmp/bench/peer-<time>.json)`;

const { values: args } = parseCli(
  {
    docs: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '2' },
    size: { type: 'string', default: 'small' },
    workers: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    'upload-concurrency': { type: 'string', default: '16' },
    'latency-ms': { type: 'string', default: '0' },
    'chunk-size': { type: 'string', default: '512' },
    'chunk-overlap': { type: 'string', default: '0' },
    'embed-batch': { type: 'string', default: '10' },
    'peer-batch': { type: 'string', default: '64' },
    'peer-check-s': { type: 'string', default: '0.05' },
    'timeout-s': { type: 'string', default: '900' },
    json: { type: 'string' },
  },
  USAGE,
);
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const num = (name, min) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min) {
    process.stderr.write(`peer: --${name} must be a number >= ${min}, got "${args[name]}"\n${USAGE}\n`);
    process.exit(2);
  }
  return v;
};
const rounds = num('rounds', 1);
// bench.mjs's settings for our side (its parser checks them): no probe, no commit probe, no search
const { o } = parseOptions([
  '--docs', String(num('docs', 1)),
  '--size', args.size,
  '--workers', String(num('workers', 1)),
  '--concurrency', String(num('concurrency', 1)),
  '--upload-concurrency', String(num('upload-concurrency', 1)),
  '--latency-ms', String(num('latency-ms', 0)),
  '--timeout-s', String(num('timeout-s', 1)),
  '--probe-docs', '0',
  '--probe-clients', '',
  '--search-chunks', '0',
]);
const p = {
  chunkSize: num('chunk-size', 16),
  chunkOverlap: num('chunk-overlap', 0),
  embedBatchSize: num('embed-batch', 1),
  parseConcurrency: o.concurrency,
  maxBatch: num('peer-batch', 1),
  checkIntervalS: num('peer-check-s', 0.001),
};
const json = resolve(args.json ?? join(ROOT, 'tmp', 'bench', `peer-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
const log = logger('peer');
const runId = randomUUID().slice(0, 8);

const target = await openTarget(o, {}, log);
const db = await openBenchDb(target.databaseUrl, log);
const docs = generateDocuments(o, runId, log);
const docsDir = writeDocs(docs);
const runs = [];
let exitCode = 0;
try {
  for (let round = 1; round <= rounds; round++) {
    const order = interleaved(round, 'ours', 'peer');
    const r = { round, order };
    for (const side of order) {
      log(`round ${round}: ${side}`);
      if (side === 'ours') {
        // a new user each round: the same bytes again would otherwise be deduplicated (unique (user_id, file_sha256))
        const token = signToken(target.jwtSecret, randomUUID());
        const run = await measureThroughput({ o, target, db, docs, token, runId: `${runId}-r${round}`, workerUrls: [], log });
        if (run.failed) exitCode = 1;
        const t = run.throughput;
        r.ours = {
          documents: t.documents,
          complete: t.complete,
          deadlettered: t.deadlettered,
          span_seconds: t.span_seconds,
          docs_per_minute: t.docs_per_minute,
          docs_per_minute_steady_10_90: t.docs_per_minute_steady_10_90,
          cpu_ms_per_doc: t.cpu.ms_per_doc,
          commits_per_doc: t.database.commits_per_doc,
          machine_busy_percent_of_all_cores: t.cpu.machine_busy_percent_of_all_cores,
          other_processes_percent_of_one_core: t.cpu.other_processes_percent_of_one_core,
        };
      } else {
        r.peer = await runPeer({ stack: target.stack, docsDir, p, timeoutS: o.timeoutS, log });
        if (r.peer.failed || r.peer.complete !== r.peer.documents) exitCode = 1;
      }
      r[side].figures = figures(r[side]);
    }
    runs.push(r);
  }
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  exitCode = 1;
} finally {
  await db.end();
  await closeTarget(target, log);
  rmSync(docsDir, { recursive: true, force: true });
}

const pairs = runs.filter((r) => r.ours && r.peer);
if (!pairs.length) process.exit(1);
const result = {
  benchmark: 'peer: this pipeline vs LlamaIndex TS IngestionPipeline, interleaved runs',
  finished_at: new Date().toISOString(),
  machine: machineInfo(),
  settings: {
    docs: o.docs,
    size: o.size,
    doc_bytes_mean: meanBytes(docs),
    rounds,
    workers: o.workers,
    concurrency: o.concurrency,
    upload_concurrency: o.uploadConcurrency,
    latency_ms: o.latencyMs,
    worker_node_args: o.workerNodeArgs,
    postgres: { version: target.stack.serverVersion, ...target.stack.pgSettings },
  },
  peer_pipeline: {
    summary:
      `IngestionPipeline([SentenceSplitter(chunkSize ${p.chunkSize}, overlap ${p.chunkOverlap}), OpenAIEmbedding(text-embedding-3-small, 1536, embedBatchSize ${p.embedBatchSize})]), ` +
      `LlamaParseReader(markdown) ${p.parseConcurrency} in flight, SimpleDocumentStore + SimpleVectorStore persisted to disk, UPSERTS, ${p.maxBatch} docs a run at most`,
    ...p,
  },
  cpu_includes: {
    ours: 'api, worker(s), PostgreSQL (postmaster and backends), mock-llamaparse, mock-openai over the run window (/proc); the bench process (upload client, polling) is in the JSON per run but not in the totals',
    peer: "the peer process's own process.cpuUsage over the ingest (after module loading and reading the files), mock-llamaparse and mock-openai over the same window (/proc)",
  },
  guarantees: GUARANTEES,
  runs,
  median: summarize(pairs),
  json,
};
mkdirSync(dirname(json), { recursive: true });
writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(formatPeerReport(result));
process.exit(exitCode);
