// The stack under test: the bench's own (embedded PostgreSQL, mocks, api, workers) or a running one (--url).
import { waitQuiet } from './machine.mjs';
import { ensureBuilt, newLogDir, startStack } from './stack.mjs';

const DEV_JWT_SECRET = 'dev-secret-change-me-0123456789abcdef';

/**
 * Starts the bench's own stack, or points at the running one of --url. Returns `{ stack, apiUrl, databaseUrl,
 * jwtSecret, embedderUrl, logDir }`; `stack` is null for a running stack. With its own stack it may first wait
 * for a quiet machine (--wait-quiet; the busy share is recorded in `o.machineBusyBeforePct`).
 */
export async function openTarget(o, args, log) {
  const logDir = newLogDir();
  if (args.url) {
    if (o.latencyMs)
      log("note: --latency-ms is not applied to a running stack (set the mocks' MOCK_*_LATENCY_MS yourself)");
    return {
      stack: null,
      apiUrl: args.url.replace(/\/$/, ''),
      databaseUrl: args['database-url'] ?? process.env.DATABASE_URL,
      jwtSecret: args['jwt-secret'] ?? process.env.JWT_SECRET ?? DEV_JWT_SECRET,
      embedderUrl: args['embedder-url']?.replace(/\/$/, '') ?? null,
      logDir,
    };
  }
  ensureBuilt(log, o.appRoot);
  if (o.waitQuietS) o.machineBusyBeforePct = await waitQuiet(o.waitQuietS, 25, log);
  log(
    `starting the stack: ${o.workers} worker(s), concurrency ${o.concurrency}, latency ${o.latencyMs} ms (logs in ${logDir})`,
  );
  // a signal stops the stack too (startStack's own handlers)
  const stack = await startStack({ ...o, deferWorkers: o.preload, logDir, log });
  return {
    stack,
    apiUrl: stack.api.url,
    databaseUrl: stack.databaseUrl,
    jwtSecret: stack.jwtSecret,
    embedderUrl: stack.embedder.url,
    logDir,
  };
}

/** Stops the bench's own stack (nothing for a running one). */
export async function closeTarget(target, log) {
  if (target.stack) {
    log('stopping the stack');
    await target.stack.close();
  }
}
