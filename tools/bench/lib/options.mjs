// bench.mjs's command line: the usage text and the parsed, checked options.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SIZES } from './client.mjs';

export const USAGE = `usage: node tools/bench/bench.mjs [options]
  --docs N               documents to ingest (default 2000)
  --size S               small (~1.5 KB, one page) | medium (~24 KB) | large (~240 KB) | max (~24.5 MiB, near the
                         25 MiB upload limit: the worker's memory with the largest documents) (default small)
  --workers N            worker processes (default 1)
  --concurrency N        WORKER_CONCURRENCY of each worker (default 16)
  --claim-batch N        WORKER_CLAIM_BATCH (default: the worker's own, 16)
  --prefetch N           WORKER_PREFETCH, jobs claimed ahead of a free slot (default: the worker's own, 1)
  --poll-interval-ms N   POLL_INTERVAL_MS (default: the worker's own, 1000)
  --worker-pool N        worker DB_POOL_SIZE (default: the worker's own, 20)
  --api-pool N           api DB_POOL_SIZE (default: the api's own, 10)
  --latency-ms N         latency injected into mock-llamaparse and mock-openai (default 0)
  --parser-concurrency N MOCK_LLAMAPARSE_CONCURRENCY: parses at once in the mock (default 64)
  --upload-concurrency N uploads in flight from the client (default 16)
  --preload              upload everything first, then start the workers on the backlog: the workers'
                         drain rate without the uploads competing (throughput: first claim -> last complete)
  --log-level L          LOG_LEVEL of the apps (default info, as deployed)
  --source-maps          start the apps with --enable-source-maps (not as shipped: tools/dev/app-commands.json)
  --worker-node-args=S   extra node flags for the workers (after the shipped ones), e.g. "--worker-node-args=--max-old-space-size=96"
  --cpu-prof             write V8 CPU profiles of every app (mocks included) into the run's log dir
  --perf-map             start the apps with --perf-basic-prof-only-functions: Linux perf names their JavaScript
                         (record with perf record -g -p <pid>, summarize with tools/bench/perf-summary.mjs)
  --pg-statements        load pg_stat_statements and report the statements by execution and planning time a document
                         (adds its own overhead: for finding where PostgreSQL's time goes, not for the figures)
  --wait-quiet S         first wait up to S seconds for the machine to be < 25% busy (default 0)
  --probe-docs N         sequential uploads on the idle system after the run (default 20; 0 = skip)
  --poison               after the run, upload hostile documents (a 200,000-character word, a 300 KB inline image,
                         5,000 nested divs, a 20,000-row table) and --poison-normal normal ones beside them, one at a
                         time: their confirm -> complete beside the poison ones' outcomes
  --poison-normal N      normal documents uploaded beside the poison ones (default 5)
  --probe-clients LIST   client counts of the commit-rate probe (default 1,16)
  --probe-seconds N      seconds per commit-rate probe (default 5)
  --search-chunks N      chunks to search over when the api has /api/v2/search (default 100000; 0 = skip)
  --search-queries N     search requests to time (default 30; stops after --search-budget-s once 3 are done)
  --search-budget-s N    (default 60)
  --search-timeout-s N   give up on one search request after this long (default 120)
  --timeout-s N          give up waiting for the pipeline after this long (default 900)
  --app-root DIR         run the built apps of another checkout of this repository (its dist/ and its
                         tools/dev/app-commands.json), measured the same way (tools/bench/ab.mjs uses it)
  --url URL              use a running stack's api instead of starting one (needs --database-url;
                         --jwt-secret or $JWT_SECRET; --worker-url for worker RSS; latency is not injected)
  --database-url URL     the running stack's database (or $DATABASE_URL)
  --jwt-secret S         the running stack's JWT_SECRET
  --worker-url URL       a running worker's base URL (repeatable): RSS from its /metrics
  --embedder-url URL     the running stack's embedder (mock-openai) base URL: lets the search phase fill
                         chunks there (e.g. docker-compose, whose PostgreSQL has pgvector)
  --json FILE            write the full results as JSON`;

const OPTIONS = {
  docs: { type: 'string', default: '2000' },
  size: { type: 'string', default: 'small' },
  workers: { type: 'string', default: '1' },
  concurrency: { type: 'string', default: '16' },
  'claim-batch': { type: 'string' },
  prefetch: { type: 'string' },
  'poll-interval-ms': { type: 'string' },
  'worker-pool': { type: 'string' },
  'api-pool': { type: 'string' },
  'latency-ms': { type: 'string', default: '0' },
  'parser-concurrency': { type: 'string', default: '64' },
  'upload-concurrency': { type: 'string', default: '16' },
  preload: { type: 'boolean', default: false },
  'log-level': { type: 'string', default: 'info' },
  'source-maps': { type: 'boolean', default: false },
  'worker-node-args': { type: 'string', default: '' },
  'cpu-prof': { type: 'boolean', default: false },
  'perf-map': { type: 'boolean', default: false },
  'pg-statements': { type: 'boolean', default: false },
  'wait-quiet': { type: 'string', default: '0' },
  'probe-docs': { type: 'string', default: '20' },
  poison: { type: 'boolean', default: false },
  'poison-normal': { type: 'string', default: '5' },
  'probe-clients': { type: 'string', default: '1,16' },
  'probe-seconds': { type: 'string', default: '5' },
  'search-chunks': { type: 'string', default: '100000' },
  'search-queries': { type: 'string', default: '30' },
  'search-budget-s': { type: 'string', default: '60' },
  'search-timeout-s': { type: 'string', default: '120' },
  'timeout-s': { type: 'string', default: '900' },
  url: { type: 'string' },
  'database-url': { type: 'string' },
  'jwt-secret': { type: 'string' },
  'worker-url': { type: 'string', multiple: true, default: [] },
  'embedder-url': { type: 'string' },
  'app-root': { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

/** Prints `message` (and optionally the usage) on stderr and exits 2: a bad command line. */
function fail(message, withUsage = false) {
  process.stderr.write(`bench: ${message}\n${withUsage ? `${USAGE}\n` : ''}`);
  process.exit(2);
}

/**
 * Parses bench.mjs's arguments. Returns `args` (the raw values, kebab-case keys) and `o` (the run's settings, as
 * recorded in the results' `settings`). Prints the usage and exits 0 on --help; exits 2 on a bad command line.
 */
export function parseOptions(argv = process.argv.slice(2)) {
  let args;
  try {
    ({ values: args } = parseArgs({ args: argv, options: OPTIONS, strict: true }));
  } catch (e) {
    fail(e.message, true);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name, min = 0) => {
    const v = args[name];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) fail(`--${name} must be a whole number >= ${min}, got "${v}"`);
    return Number(v);
  };
  if (!SIZES[args.size]) fail('--size must be small, medium, large or max');
  const o = {
    docs: int('docs', 1),
    size: args.size,
    workers: int('workers', 1),
    concurrency: int('concurrency', 1),
    claimBatch: int('claim-batch', 1),
    prefetch: int('prefetch', 0),
    pollIntervalMs: int('poll-interval-ms', 50),
    workerPool: int('worker-pool', 2),
    apiPool: int('api-pool', 1),
    latencyMs: int('latency-ms'),
    parserConcurrency: int('parser-concurrency', 1),
    uploadConcurrency: int('upload-concurrency', 1),
    preload: args.preload,
    logLevel: args['log-level'],
    sourceMaps: args['source-maps'],
    workerNodeArgs: args['worker-node-args'].split(/\s+/).filter(Boolean),
    cpuProf: args['cpu-prof'],
    perfMap: args['perf-map'],
    pgStatements: args['pg-statements'],
    waitQuietS: int('wait-quiet'),
    probeDocs: int('probe-docs'),
    poison: args.poison,
    poisonNormal: int('poison-normal'),
    probeClients: args['probe-clients']
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0),
    probeSeconds: int('probe-seconds', 1),
    searchChunks: int('search-chunks'),
    searchQueries: int('search-queries', 1),
    searchBudgetS: int('search-budget-s', 1),
    searchTimeoutS: int('search-timeout-s', 1),
    timeoutS: int('timeout-s', 1),
    // another checkout's built apps (its dist/ and tools/dev/app-commands.json), measured by this benchmark
    appRoot: args['app-root'] ? resolve(args['app-root']) : undefined,
  };
  if (args.url) {
    if (!(args['database-url'] ?? process.env.DATABASE_URL))
      fail('--url needs --database-url (or $DATABASE_URL): the timings come from the events table');
    if (o.preload) fail('--preload needs the bench to start the stack (no --url)');
    if (o.pgStatements) fail('--pg-statements needs the bench to start the stack (no --url)');
  }
  return { args, o };
}
