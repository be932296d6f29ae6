import { Logger } from '@nestjs/common';
import { migrateDatabase } from '@app/database';
import { closeOnSignals } from '@app/http';
import { MetricsService, useClusterMetrics } from '@app/observability';
import type { ApiConfig } from './app.config';
import { createApiApp } from './app.factory';

// What main.ts runs where the app runs; loaded only there (import()), so that a cluster primary stays small.

/** `node main.js migrate`: applies pending migrations and exits (used by npm start and deployments). */
export async function migrate(config: ApiConfig): Promise<void> {
  const ran = await migrateDatabase({ url: config.DATABASE_URL, embeddingDimensions: config.EMBEDDING_DIMENSIONS });
  process.stdout.write(ran.length ? `applied migrations: ${ran.join(', ')}\n` : 'database is up to date\n');
}

/**
 * Builds the api and serves it on API_HOST:API_PORT until SIGTERM or SIGINT. `clustered`: this process is one of a
 * node:cluster's (API_PROCESSES > 1), and `GET /metrics` here reports the sum over all of them (the primary collects it).
 */
export async function serve(config: ApiConfig, clustered: boolean): Promise<void> {
  const app = await createApiApp(config);
  closeOnSignals(app);
  if (clustered) useClusterMetrics(app.get(MetricsService));
  await app.listen(config.API_PORT, config.API_HOST);
  Logger.log(`api listening on ${config.API_HOST}:${config.API_PORT}`, 'Bootstrap');
}
