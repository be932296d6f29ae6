// Jest globalSetup: provides a PostgreSQL server for integration tests.
// DATABASE_URL (or an already provided INGEST_TEST_ADMIN_URL) wins; otherwise an embedded
// PostgreSQL is started in a throwaway directory for this test run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../dev/embedded-pg.mjs';

export default async function globalSetup() {
  if (process.env.INGEST_TEST_ADMIN_URL) return;
  if (process.env.DATABASE_URL) {
    process.env.INGEST_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'ingest-test-pg-'));
  const pg = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  globalThis.__INGEST_TEST_PG__ = pg;
  process.env.INGEST_TEST_ADMIN_URL = pg.url;
}
