import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfigOrExit } from '@app/config';
import { closeOnSignals } from '@app/http';
import { migrateDatabase } from '@app/database';
import { ApiConfig, assertProductionSafe } from './app.config';
import { createApiApp } from './app.factory';

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
  closeOnSignals(app);
  await app.listen(config.API_PORT, config.API_HOST);
  Logger.log(`api listening on ${config.API_HOST}:${config.API_PORT}`, 'Bootstrap');
}

main().catch((e: unknown) => {
  process.stderr.write(`api failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
