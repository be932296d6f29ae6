import 'reflect-metadata';
import cluster from 'node:cluster';
import { loadConfigOrExit } from '@app/config';
import { ApiConfig, assertProductionSafe } from './app.config';
import { runClusterPrimary } from './cluster/cluster-primary';

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
    await (await import('./serve')).migrate(config);
    return;
  }

  // API_PROCESSES > 1: this process forks and supervises them (each runs this file again, as a cluster worker).
  const clustered = config.API_PROCESSES > 1;
  if (clustered && cluster.isPrimary) {
    runClusterPrimary(config);
    return;
  }
  await (await import('./serve')).serve(config, clustered);
}

main().catch((e: unknown) => {
  process.stderr.write(`api failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
