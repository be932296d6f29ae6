import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface TestDatabase {
  /** Connection URL of this test file's own database. */
  url: string;
  name: string;
  /** Drops the database (terminating its connections). */
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env['INGEST_TEST_ADMIN_URL'] ?? process.env['DATABASE_URL'];
  if (!url) {
    throw new Error(
      'No PostgreSQL for tests: run through `npm test` / `nx test` (the jest globalSetup starts an embedded one) or set DATABASE_URL.',
    );
  }
  return url;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Drops a test database, terminating its connections. */
async function dropDatabase(name: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

const LOCK_KEY = 0x696e67657374; // "ingest"

/**
 * Creates a fresh database for one test file, cloned from a migrated template. The template is built
 * once per migration set (its name is a hash of the migrations), under an advisory lock so parallel
 * test processes do not race.
 */
export interface DatabaseTemplate {
  /** Changes whenever the schema the template holds changes (e.g. a hash of migration names). */
  fingerprint: string;
  /** Brings an empty database at `url` to the template's schema. */
  migrate(url: string): Promise<void>;
}

export async function createTestDatabase(tmpl: DatabaseTemplate): Promise<TestDatabase> {
  const tag = createHash('sha256').update(tmpl.fingerprint).digest('hex').slice(0, 12);
  const template = `ingest_tmpl_${tag}`;
  const name = `ingest_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (!exists.rowCount) {
      const building = `${template}_build_${randomBytes(3).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${building}`);
      try {
        await tmpl.migrate(withDatabase(adminUrl(), building));
      } catch (e) {
        await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`).catch(() => undefined);
        throw e;
      }
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    }
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await admin.end();
  }
  const url = withDatabase(adminUrl(), name);
  return {
    url,
    name,
    drop: () => dropDatabase(name),
  };
}

/** Creates an empty database (no migrations) for migration tests. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = `ingest_empty_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl(), name),
    name,
    drop: () => dropDatabase(name),
  };
}
