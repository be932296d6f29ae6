import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfigOrExit } from '@app/config';
import { closeOnSignals } from '@app/http';
import { assertConsistent, WorkerConfig } from './app.config';
import { createWorkerApp } from './app.factory';
import { runReembedCommand } from './reembed/reembed.command';

async function main(): Promise<void> {
  const config = loadConfigOrExit(WorkerConfig, process.env, 'worker');
  try {
    assertConsistent(config);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(78);
  }
  // `node main.js reembed ...`: re-embed the stored chunks with another model (see --help) and exit.
  if (process.argv[2] === 'reembed') {
    process.exitCode = await runReembedCommand(config, process.argv.slice(3));
    return;
  }

  const app = await createWorkerApp(config);
  closeOnSignals(app);
  await app.listen(config.WORKER_PORT, config.WORKER_HOST);
  Logger.log(`worker ${config.WORKER_ID} serving health on ${config.WORKER_HOST}:${config.WORKER_PORT}`, 'Bootstrap');
}

main().catch((e: unknown) => {
  process.stderr.write(`worker failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
