import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { loadConfigOrExit } from '@app/config';
import { assertConsistent, WorkerConfig } from './app.config';
import { createWorkerApp } from './app.factory';

/**
 * SIGTERM/SIGINT: close the app (stop taking work, drain, run every shutdown hook), then exit 0.
 * Nest's enableShutdownHooks would re-raise the signal after closing, which ends the process with
 * a signal instead of a clean exit code.
 */
function exitOnSignals(app: INestApplication): void {
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      Logger.log(`${signal}: shutting down`, 'Bootstrap');
      app.close().then(
        () => process.exit(0),
        (e: unknown) => {
          process.stderr.write(`shutdown failed: ${String(e)}\n`);
          process.exit(1);
        },
      );
    });
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(WorkerConfig, process.env, 'worker');
  try {
    assertConsistent(config);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(78);
  }
  const app = await createWorkerApp(config);
  exitOnSignals(app);
  await app.listen(config.WORKER_PORT, config.WORKER_HOST);
  Logger.log(`worker ${config.WORKER_ID} serving health on ${config.WORKER_HOST}:${config.WORKER_PORT}`, 'Bootstrap');
}

main().catch((e: unknown) => {
  process.stderr.write(`worker failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
