import { Client } from 'pg';
import { createEmptyDatabase, TestDatabase } from '@app/testing';
import { createDataSource, pendingMigrations, readEmbeddingSettings, runMigrations } from '../data-source';
import { JOBS_NOTIFY_CHANNEL } from '../schema';

const TABLES = [
  'documents',
  'upload_jobs',
  'events',
  'document_chunk_buffer',
  'document_vector_buffer',
  'document_chunks',
  'webhook_log',
  'schema_settings',
  'migrations',
];

async function tables(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'upload_pipeline' ORDER BY 1`,
    );
    return r.rows.map((x: { table_name: string }) => x.table_name);
  } finally {
    await c.end();
  }
}

describe('migrations (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('create every table on a fresh database, then a re-run applies nothing', async () => {
    const ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    try {
      expect(await pendingMigrations(ds)).toEqual(['InitialSchema1732350000000']);
      expect(await runMigrations(ds)).toEqual(['InitialSchema1732350000000']);
      expect((await tables(db.url)).sort()).toEqual([...TABLES].sort());
      expect(await runMigrations(ds)).toEqual([]);
      expect(await pendingMigrations(ds)).toEqual([]);
      const settings = await readEmbeddingSettings(ds);
      expect(['pgvector', 'real_array']).toContain(settings.storage);
    } finally {
      await ds.destroy();
    }
  });

  it('run concurrently from several processes without a race', async () => {
    const other = await createEmptyDatabase();
    const sources = [0, 1, 2].map(() => createDataSource({ url: other.url, poolSize: 2 }));
    try {
      await Promise.all(sources.map((s) => s.initialize()));
      const ran = await Promise.all(sources.map((s) => runMigrations(s)));
      expect(ran.flat()).toEqual(['InitialSchema1732350000000']);
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
      await other.drop();
    }
  });

  it('revert cleanly and apply again', async () => {
    const ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    try {
      await runMigrations(ds);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(db.url)).toEqual(['migrations']);
      expect(await runMigrations(ds)).toEqual(['InitialSchema1732350000000']);
      expect((await tables(db.url)).length).toBe(TABLES.length);
    } finally {
      await ds.destroy();
    }
  });

  describe('constraints', () => {
    let c: Client;
    const user = '00000000-0000-4000-8000-0000000000aa';
    const sha = 'a'.repeat(64);
    let documentId: string;

    beforeAll(async () => {
      c = new Client({ connectionString: db.url });
      await c.connect();
      const r = await c.query(
        `INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
         VALUES ($1, 'a.pdf', 'application/pdf', 10, $2, 'k') RETURNING document_id`,
        [user, sha],
      );
      documentId = r.rows[0].document_id;
    });
    afterAll(async () => {
      await c?.end();
    });

    const insertJob = (stage: string, state: string, extra = '') =>
      c.query(
        `INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id ${extra ? ', claimed_by, lease_expires_at' : ''})
         VALUES ($1, $2, $3, $4, 's', 'm', 'c' ${extra})`,
        [documentId, user, stage, state],
      );

    it('refuse unknown stages and states', async () => {
      await expect(insertJob('parsingx', 'queued')).rejects.toThrow(/check constraint/);
      await expect(insertJob('parsing', 'sleeping')).rejects.toThrow(/check constraint/);
    });

    it('refuse done outside complete, complete without done, working without a lease', async () => {
      await expect(insertJob('parsing', 'done')).rejects.toThrow(/upload_jobs_done_iff_complete/);
      await expect(insertJob('complete', 'queued')).rejects.toThrow(/upload_jobs_done_iff_complete/);
      await expect(insertJob('parsing', 'working')).rejects.toThrow(/upload_jobs_working_has_lease/);
    });

    it('refuse a second document with the same sha for the same user, allow it for another user', async () => {
      await expect(
        c.query(
          `INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path) VALUES ($1, 'b.pdf', 'application/pdf', 10, $2, 'k2')`,
          [user, sha],
        ),
      ).rejects.toThrow(/documents_user_sha_key/);
      await c.query(
        `INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path) VALUES ($1, 'b.pdf', 'application/pdf', 10, $2, 'k2')`,
        ['00000000-0000-4000-8000-0000000000bb', sha],
      );
    });

    it('notify workers when a job becomes queued', async () => {
      const listener = new Client({ connectionString: db.url });
      await listener.connect();
      try {
        const got = new Promise<string | undefined>((resolve) => listener.on('notification', (n) => resolve(n.payload)));
        await listener.query(`LISTEN ${JOBS_NOTIFY_CHANNEL}`);
        await insertJob('job_validated', 'queued');
        await expect(got).resolves.toBe('job_validated');
      } finally {
        await listener.end();
      }
    });
  });
});
