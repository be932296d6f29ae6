import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { createEmptyDatabase, TestDatabase } from '@app/testing';
import { DataSource } from 'typeorm';
import { createDataSource, dataSourceOptions, pendingMigrations, readEmbeddingSettings, runMigrations } from '../data-source';
import { initialSchemaMigration } from './1732350000000-initial-schema';
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
  'embedding_models',
  'rate_limits',
  'migrations',
];

/** Polls `cond` every 20 ms until it holds (the test's own timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

const ALL = ['InitialSchema1732350000000', 'EmbeddingModels1764000000000', 'UnfinishedJobsIndex1764900000000', 'QueuedUserIndex1765000000000', 'RateLimits1765100000000', 'VectorsInline1765200000000', 'ValueDomains1765300000000'];
/** The migrations from `name` on, in order (what runMigrations applies after `revertThrough(name)`). */
const from = (name: string) => ALL.slice(ALL.indexOf(name));

/** Reverts the newest migrations, down to and including `name`. */
async function revertThrough(ds: DataSource, name: string): Promise<void> {
  for (;;) {
    const [last] = (await ds.query(`SELECT name FROM upload_pipeline.migrations ORDER BY id DESC LIMIT 1`)) as { name: string }[];
    await ds.undoLastMigration({ transaction: 'each' });
    if (last.name === name) return;
  }
}

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
      expect(await pendingMigrations(ds)).toEqual(ALL);
      expect(await runMigrations(ds)).toEqual(ALL);
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
      expect(ran.flat()).toEqual(ALL);
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
      await other.drop();
    }
  });

  it("wait for another process's migration lock without blocking in PostgreSQL, and say who holds it", async () => {
    const ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    const holder = new Client({ connectionString: db.url, application_name: 'lock-holder' });
    await holder.connect();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await runMigrations(ds);
      await holder.query(`SELECT pg_advisory_lock(x'7261746564696e67'::bigint)`);
      const [{ pid }] = (await holder.query('SELECT pg_backend_pid() AS pid')).rows;
      let done = false;
      const running = runMigrations(ds, { lockWaitLogMs: 150 }).then((r) => ((done = true), r));
      await until(() => warn.mock.calls.length > 0);
      expect(done).toBe(false);
      expect(String(warn.mock.calls[0][0])).toMatch(new RegExp(`waiting \\d+ s for the migration lock, held by pid ${pid} \\(application_name "lock-holder"`));
      // polled, not blocked: no session of ours waits on the lock inside PostgreSQL (a blocked one holds a snapshot)
      const [{ n }] = await ds.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(n).toBe(0);
      await holder.query(`SELECT pg_advisory_unlock(x'7261746564696e67'::bigint)`);
      expect(await running).toEqual([]);
    } finally {
      warn.mockRestore();
      await holder.end();
      await ds.destroy();
    }
  });

  it('revert cleanly and apply again', async () => {
    const ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    try {
      await runMigrations(ds);
      for (let i = 0; i < ALL.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(db.url)).toEqual(['migrations']);
      expect(await runMigrations(ds)).toEqual(ALL);
      expect((await tables(db.url)).length).toBe(TABLES.length);
    } finally {
      await ds.destroy();
    }
  });

  it('index only unfinished jobs by stage and state (built concurrently); reverting restores the full index', async () => {
    const other = await createEmptyDatabase();
    const ds = createDataSource({ url: other.url, poolSize: 2, statementTimeoutMs: 30_000 });
    const indexes = async () =>
      ((await ds.query(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'upload_pipeline' AND tablename = 'upload_jobs'
           AND indexname IN ('upload_jobs_unfinished_idx', 'upload_jobs_stage_state_idx') ORDER BY indexname`,
      )) as { indexname: string; indexdef: string }[]).map((r) => `${r.indexname}: ${r.indexdef.replace(/^.* USING /, '')}`);
    const validity = () => ds.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'upload_pipeline.upload_jobs_unfinished_idx'::regclass`) as Promise<{ valid: boolean }[]>;
    await ds.initialize();
    try {
      await runMigrations(ds);
      expect(await indexes()).toEqual([`upload_jobs_unfinished_idx: btree (stage, state) WHERE ((state)::text <> 'done'::text)`]);
      expect(await validity()).toEqual([{ valid: true }]);
      await revertThrough(ds, 'UnfinishedJobsIndex1764900000000');
      expect(await indexes()).toEqual(['upload_jobs_stage_state_idx: btree (stage, state)']);
      // an invalid index left by a build that failed half-way (here: a unique build over two jobs at one stage) is
      // built again
      await ds.query(`
        WITH d AS (
          INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
          SELECT gen_random_uuid(), 'f', 'text/markdown', 10, lpad(to_hex(g), 64, '0'), 'raw/' || g FROM generate_series(1, 2) g
          RETURNING document_id, user_id
        )
        INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id)
        SELECT document_id, user_id, 'job_validated', 'queued', 's', 'm', 'c' FROM d`);
      await expect(ds.query(`CREATE UNIQUE INDEX CONCURRENTLY upload_jobs_unfinished_idx ON upload_pipeline.upload_jobs (stage)`)).rejects.toThrow(
        /could not create unique index/,
      );
      expect(await validity()).toEqual([{ valid: false }]);
      expect(await runMigrations(ds)).toEqual(from('UnfinishedJobsIndex1764900000000'));
      expect(await indexes()).toEqual([`upload_jobs_unfinished_idx: btree (stage, state) WHERE ((state)::text <> 'done'::text)`]);
      expect(await validity()).toEqual([{ valid: true }]);
      // the session settings the migration changed are back to the connection's own on every pooled connection
      const runners = [ds.createQueryRunner(), ds.createQueryRunner()]; // the pool's two connections, held at once
      try {
        for (const r of runners) await r.connect();
        for (const r of runners) {
          expect(await r.query(`SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS stmt`)).toEqual([
            { lock: '0', stmt: '30s' },
          ]);
        }
      } finally {
        for (const r of runners) await r.release();
      }
    } finally {
      await ds.destroy();
      await other.drop();
    }
  });

  it('index queued jobs by user (built concurrently, an invalid build built again); reverting drops it', async () => {
    const other = await createEmptyDatabase();
    const ds = createDataSource({ url: other.url, poolSize: 2, statementTimeoutMs: 30_000 });
    const index = async () =>
      ((await ds.query(
        `SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
         WHERE i.indexrelid = to_regclass('upload_pipeline.upload_jobs_queued_user_idx')`,
      )) as { valid: boolean; def: string }[]).map((r) => `${r.valid ? 'valid' : 'invalid'}: ${r.def.replace(/^.* USING /, '')}`);
    // (state is a domain over text since ValueDomains1765300000000)
    const queuedUser = `valid: btree (user_id, created_at) WHERE ((state)::text = 'queued'::text)`;
    await ds.initialize();
    try {
      await runMigrations(ds);
      expect(await index()).toEqual([queuedUser]);
      await revertThrough(ds, 'QueuedUserIndex1765000000000');
      expect(await index()).toEqual([]);
      // a build that failed half-way (a unique build over one user's two queued jobs) leaves an invalid index
      await ds.query(`
        WITH d AS (
          INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
          SELECT '00000000-0000-4000-8000-0000000000dd', 'f', 'text/markdown', 10, lpad(to_hex(g), 64, '0'), 'raw/' || g FROM generate_series(1, 2) g
          RETURNING document_id, user_id
        )
        INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id)
        SELECT document_id, user_id, 'job_validated', 'queued', 's', 'm', 'c' FROM d`);
      await expect(
        ds.query(`CREATE UNIQUE INDEX CONCURRENTLY upload_jobs_queued_user_idx ON upload_pipeline.upload_jobs (user_id) WHERE state = 'queued'`),
      ).rejects.toThrow(/could not create unique index/);
      expect(await index()).toEqual([`invalid: btree (user_id) WHERE (state = 'queued'::text)`]);
      expect(await runMigrations(ds)).toEqual(from('QueuedUserIndex1765000000000'));
      expect(await index()).toEqual([queuedUser]);
    } finally {
      await ds.destroy();
      await other.drop();
    }
  });

  it('give the stage, state, event type and processing status columns domains that hold their lists; reverting restores the CHECK constraints', async () => {
    const other = await createEmptyDatabase();
    const ds = createDataSource({ url: other.url, poolSize: 2 });
    const COLUMNS = [
      ['documents', 'processing_status'],
      ['events', 'event_type'],
      ['events', 'from_stage'],
      ['events', 'from_state'],
      ['events', 'stage'],
      ['events', 'to_state'],
      ['upload_jobs', 'stage'],
      ['upload_jobs', 'state'],
    ];
    const columnTypes = async () =>
      (await ds.query(
        `SELECT table_name || '.' || column_name AS col, coalesce(domain_name, data_type) AS type FROM information_schema.columns
         WHERE table_schema = 'upload_pipeline' AND (table_name, column_name) IN (${COLUMNS.map(([t, c]) => `('${t}', '${c}')`).join(', ')})
         ORDER BY 1`,
      )) as { col: string; type: string }[];
    const tableChecks = async () =>
      ((await ds.query(
        `SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid IN
           ('upload_pipeline.documents'::regclass, 'upload_pipeline.events'::regclass, 'upload_pipeline.upload_jobs'::regclass)
         AND pg_get_constraintdef(oid) LIKE '%ANY%' ORDER BY 1`,
      )) as { conname: string }[]).map((r) => r.conname);
    // the same trigger, whether `new.state` is a text or a domain over text (`(new.state)::text`)
    const trigger = async () =>
      ((await ds.query(`SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgname = 'upload_jobs_notify_ready'`)) as { def: string }[]).map((r) =>
        r.def.replace(/\(new\.state\)::text/, 'new.state').replace(/\(+/g, '(').replace(/\)+/g, ')'),
      );
    let n = 0;
    /** A document and its job at `stage`/`state`, and an event of `type`; the SQLSTATE of a refusal, or 'ok'. */
    const write = async (stage: string, state: string, type: string, status = 'pending'): Promise<string> => {
      n++;
      try {
        await ds.query(`
          WITH d AS (
            INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path, processing_status)
            VALUES ('00000000-0000-4000-8000-0000000000dd', 'f', 'text/markdown', 10, lpad(to_hex(${n}), 64, '0'), 'raw/${n}', '${status}')
            RETURNING document_id, user_id
          ), j AS (
            INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id)
            SELECT document_id, user_id, '${stage}', '${state}', 's', 'm', 'c' FROM d RETURNING job_id, document_id
          )
          INSERT INTO upload_pipeline.events (job_id, document_id, event_type, stage, from_stage, from_state, to_state, correlation_id)
          SELECT job_id, document_id, '${type}', '${stage}', NULL, NULL, '${state}', 'c' FROM j`);
        return 'ok';
      } catch (e) {
        return (e as { driverError?: { code?: string } }).driverError?.code ?? String(e);
      }
    };
    await ds.initialize();
    try {
      await runMigrations(ds);
      const before = await trigger();
      expect(before).toHaveLength(1);
      expect(await columnTypes()).toEqual(
        ['processing_status_value', 'event_type_value', 'stage_value', 'job_state_value', 'stage_value', 'job_state_value', 'stage_value', 'job_state_value'].map(
          (type, i) => ({ col: COLUMNS[i].join('.'), type }),
        ),
      );
      expect(await tableChecks()).toEqual([]);
      expect(await write('parsing', 'queued', 'stage_done')).toBe('ok');
      expect(await write('no_such_stage', 'queued', 'stage_done')).toBe('23514');
      expect(await write('parsing', 'sleeping', 'stage_done')).toBe('23514');
      expect(await write('parsing', 'queued', 'no_such_event')).toBe('23514');
      expect(await write('parsing', 'queued', 'stage_done', 'lost')).toBe('23514');
      // the table's own constraints over the two columns still hold
      expect(await write('complete', 'queued', 'stage_done')).toBe('23514');

      await revertThrough(ds, 'ValueDomains1765300000000');
      expect((await columnTypes()).map((c) => c.type)).toEqual(COLUMNS.map(() => 'text'));
      expect(await tableChecks()).toEqual([
        'documents_processing_status_check',
        'events_event_type_check',
        'events_from_stage_check',
        'events_from_state_check',
        'events_stage_check',
        'events_to_state_check',
        'upload_jobs_stage_check',
        'upload_jobs_state_check',
      ]);
      expect(await trigger()).toEqual(before);
      expect(await write('no_such_stage', 'queued', 'stage_done')).toBe('23514');
      expect(await write('parsing', 'waiting', 'stage_done')).toBe('ok');

      // again, over the rows written so far
      expect(await runMigrations(ds)).toEqual(['ValueDomains1765300000000']);
      expect(await tableChecks()).toEqual([]);
      expect(await trigger()).toEqual(before);
    } finally {
      await ds.destroy();
      await other.drop();
    }
  });

  it('keep a 1,536-float vector inside its row (storage MAIN, tuple target 8160, no TOAST rows); reverting restores the defaults', async () => {
    const other = await createEmptyDatabase();
    const ds = createDataSource({ url: other.url, poolSize: 2 });
    const layout = async () =>
      (await ds.query(
        `SELECT c.relname AS table, a.attstorage AS storage, t.typstorage AS type_storage, coalesce(array_to_string(c.reloptions, ','), '') AS options
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding' JOIN pg_type t ON t.oid = a.atttypid
         WHERE c.relnamespace = 'upload_pipeline'::regnamespace AND c.relname IN ('document_chunks', 'document_vector_buffer') ORDER BY 1`,
      )) as { table: string; storage: string; type_storage: string; options: string }[];
    const toastRows = async () => {
      const [{ toast }] = (await ds.query(
        `SELECT reltoastrelid::regclass::text AS toast FROM pg_class WHERE oid = 'upload_pipeline.document_vector_buffer'::regclass`,
      )) as { toast: string }[];
      const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM ${toast}`)) as { n: number }[];
      return n;
    };
    // a buffered vector of 1,536 floats: 6 kB, past the default TOAST threshold (~2 kB)
    const bufferVector = async (ord: number) =>
      ds.query(`
        WITH d AS (
          INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
          VALUES ('00000000-0000-4000-8000-0000000000ee', 'f', 'text/markdown', 10, lpad(to_hex(${ord}), 64, '0'), 'raw/${ord}')
          RETURNING document_id
        ), c AS (
          INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
          SELECT gen_random_uuid(), document_id, 'k', 1, 0, 'text', repeat('a', 64), 1 FROM d RETURNING chunk_id, document_id
        )
        INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
        SELECT chunk_id, 'm', 1, document_id, (SELECT array_agg(random()::real) FROM generate_series(1, 1536)) FROM c`);
    await ds.initialize();
    try {
      await runMigrations(ds);
      for (const row of await layout()) {
        expect(row.storage).toBe('m');
        expect(row.options).toBe('toast_tuple_target=8160');
      }
      await bufferVector(1);
      expect(await toastRows()).toBe(0);
      await revertThrough(ds, 'VectorsInline1765200000000');
      for (const row of await layout()) {
        expect(row.storage).toBe(row.type_storage);
        expect(row.options).toBe('');
      }
      await bufferVector(2);
      expect(await toastRows()).toBeGreaterThan(0);
    } finally {
      await ds.destroy();
      await other.drop();
    }
  });

  it('register the models already in the data: the most used active, the others retired; one row per chunk and model', async () => {
    const old = await createEmptyDatabase();
    const opts = dataSourceOptions({ url: old.url, poolSize: 2 });
    const first = new DataSource({ ...opts, migrations: [initialSchemaMigration({ embeddingDimensions: 1536 })] });
    await first.initialize();
    const c = new Client({ connectionString: old.url });
    await c.connect();
    try {
      await runMigrations(first);
      const [{ storage }] = (await c.query(`SELECT value->>'storage' AS storage FROM upload_pipeline.schema_settings WHERE key = 'embedding'`)).rows;
      const vec = (x: number) => (storage === 'pgvector' ? `[${Array.from({ length: 1536 }, (_, i) => (i === 0 ? x : 0)).join(',')}]` : `{${x},0,0}`);
      const user = '00000000-0000-4000-8000-0000000000cc';
      const doc = (await c.query(
        `INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
         VALUES ($1, 'a.md', 'text/markdown', 10, $2, 'k') RETURNING document_id`,
        [user, 'b'.repeat(64)],
      )).rows[0].document_id as string;
      const insert = (chunk: string, ord: number, model: string) =>
        c.query(
          `INSERT INTO upload_pipeline.document_chunks (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count, embed_model, embed_version, embedding)
           VALUES ($1, $2, $3, 'md', 1, $4, 't', $5, 1, $6, 1, $7)`,
          [chunk, doc, user, ord, 'c'.repeat(64), model, vec(1)],
        );
      const ids = [1, 2, 3, 4].map((i) => `10000000-0000-4000-8000-00000000000${i}`);
      await insert(ids[0], 0, 'model-a');
      await insert(ids[1], 1, 'model-a');
      await insert(ids[2], 2, 'model-a');
      await insert(ids[3], 3, 'model-b');
      await first.destroy();

      const ds = createDataSource({ url: old.url, poolSize: 2 });
      await ds.initialize();
      try {
        expect(await runMigrations(ds)).toEqual(from('EmbeddingModels1764000000000'));
        const models = (await c.query(
          `SELECT embed_model, embed_version, state, dimensions FROM upload_pipeline.embedding_models ORDER BY embed_model`,
        )).rows;
        const dims = storage === 'pgvector' ? 1536 : 3;
        expect(models).toEqual([
          { embed_model: 'model-a', embed_version: 1, state: 'active', dimensions: dims },
          { embed_model: 'model-b', embed_version: 1, state: 'retired', dimensions: dims },
        ]);
        // the same chunk under a second (registered) model sits beside the first; an unregistered model is refused
        await insert(ids[3], 3, 'model-a');
        await expect(insert(ids[0], 0, 'model-c')).rejects.toThrow(/document_chunks_model_fkey/);
        await expect(insert(ids[0], 0, 'model-a')).rejects.toThrow(/duplicate key/);
        // at most one active model
        await expect(
          c.query(`UPDATE upload_pipeline.embedding_models SET state = 'active', activated_at = now() WHERE embed_model = 'model-b'`),
        ).rejects.toThrow(/embedding_models_one_active/);

        // reverting keeps one row per chunk: the active model's
        await revertThrough(ds, 'EmbeddingModels1764000000000');
        const rows = (await c.query(`SELECT chunk_id, embed_model FROM upload_pipeline.document_chunks ORDER BY chunk_id`)).rows;
        expect(rows).toEqual(ids.map((chunk_id) => ({ chunk_id, embed_model: 'model-a' })));
      } finally {
        await ds.destroy();
      }
    } finally {
      await c.end();
      if (first.isInitialized) await first.destroy();
      await old.drop();
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
