import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { loadConfigOrExit } from '@app/config';
import { migrateDatabase } from '@app/database';
import { ApiConfig, assertProductionSafe } from './app.config';
import { createApiApp } from './app.factory';

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
  const config = loadConfigOrExit(ApiConfig, process.env, 'api');
  try {
    assertProductionSafe(config);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(78);
  }

  // `node main.js migrate`: apply pending migrations and exit (used by npm start and deployments).
  if (process.argv[2] === 'migrate') {
    const ran = await migrateDatabase({ url: config.DATABASE_URL, embeddingDimensions: config.EMBEDDING_DIMENSIONS });
    process.stdout.write(ran.length ? `applied migrations: ${ran.join(', ')}\n` : 'database is up to date\n');
    return;
  }

  const app = await createApiApp(config);
  exitOnSignals(app);
  await app.listen(config.API_PORT, config.API_HOST);
  Logger.log(`api listening on ${config.API_HOST}:${config.API_PORT}`, 'Bootstrap');
}

main().catch((e: unknown) => {
  process.stderr.write(`api failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
