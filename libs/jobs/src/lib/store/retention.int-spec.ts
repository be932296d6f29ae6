import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate, runPrepared } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { insertJobs } from './job-store.test-fixtures';
import { RETENTION_LOCK_KEY, RetentionService } from './retention.service';

const DAY_MS = 86_400_000;

describe('RetentionService (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  // rows are inserted here with any age in any order; in use ids follow time (a walk stops at the first young row)
  beforeEach(async () => {
    await ds.query(`DELETE FROM upload_pipeline.events`);
    await ds.query(`DELETE FROM upload_pipeline.webhook_log`);
  });

  /** A job at stage/state, last changed `updatedDaysAgo` days ago. Returns its id. */
  async function job(stage: string, state: string, updatedDaysAgo: number): Promise<string> {
    const before = (await ds.query(`SELECT job_id FROM upload_pipeline.upload_jobs`)) as { job_id: string }[];
    await insertJobs(ds, 1, stage, state);
    const [row] = (await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET updated_at = now() - $2::int * interval '1 day'
       WHERE job_id <> ALL($1::uuid[]) RETURNING job_id`,
      [before.map((r) => r.job_id), updatedDaysAgo],
    )) as [{ job_id: string }[], number];
    return row[0].job_id;
  }

  async function addEvents(jobId: string, n: number, daysAgo: number): Promise<void> {
    await ds.query(
      `INSERT INTO upload_pipeline.events (job_id, document_id, event_type, stage, to_state, correlation_id, created_at)
       SELECT job_id, document_id, 'stage_started', stage, state, 'c', now() - $2::int * interval '1 day'
       FROM upload_pipeline.upload_jobs, generate_series(1, $3::int) WHERE job_id = $1`,
      [jobId, daysAgo, n],
    );
  }

  async function addWebhooks(jobId: string, n: number, daysAgo: number): Promise<void> {
    await ds.query(
      `INSERT INTO upload_pipeline.webhook_log (job_id, source, body_sha256, parser_job_id, status, received_at)
       SELECT $1, 'llamaparse', encode(sha256(gen_random_uuid()::text::bytea), 'hex'), 'p', 'SUCCESS', now() - $2::int * interval '1 day'
       FROM generate_series(1, $3::int)`,
      [jobId, daysAgo, n],
    );
  }

  async function count(table: 'events' | 'webhook_log', jobId: string): Promise<number> {
    const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.${table} WHERE job_id = $1`, [jobId])) as { n: number }[];
    return n;
  }

  it('prunes old events of jobs finished long ago, in batches; keeps recent ones and those of unfinished or recently finished jobs', async () => {
    const doneOld = await job('complete', 'done', 40);
    const deadOld = await job('chunking', 'deadletter', 40);
    const doneRecently = await job('complete', 'done', 1);
    const queued = await job('job_validated', 'queued', 40);
    const waiting = await job('parsing', 'waiting', 40);
    for (const j of [doneOld, deadOld, doneRecently, queued, waiting]) await addEvents(j, 7, 40);
    await addEvents(doneOld, 2, 0); // recent events (ids after the old ones) of an old job: kept, the walk stops there

    const r = await new RetentionService(ds).pruneOnce({ eventsMaxAgeMs: 30 * DAY_MS, webhookLogMaxAgeMs: 0, batchSize: 3 });

    expect(r.ran).toBe(true);
    expect(r.events.deleted).toBe(14);
    expect(r.events.complete).toBe(true);
    // 37 rows walked 3 at a time, up to the batch that holds the first recent row (the 36th)
    expect(r.events.batches).toBe(12);
    expect(await count('events', doneOld)).toBe(2);
    expect(await count('events', deadOld)).toBe(0);
    expect(await count('events', doneRecently)).toBe(7);
    expect(await count('events', queued)).toBe(7);
    expect(await count('events', waiting)).toBe(7);
    expect(r.webhookLog).toEqual({ deleted: 0, batches: 0, complete: true });
  });

  it('prunes old webhook_log rows of finished jobs only, never those of a job still parsing', async () => {
    const doneOld = await job('complete', 'done', 10);
    const deadOld = await job('parsing', 'deadletter', 10);
    const parsing = await job('parsing', 'waiting', 10);
    const queued = await job('parse_queued', 'queued', 10);
    for (const j of [doneOld, deadOld, parsing, queued]) await addWebhooks(j, 4, 10);
    await addWebhooks(doneOld, 1, 0);

    const r = await new RetentionService(ds).pruneOnce({ eventsMaxAgeMs: 0, webhookLogMaxAgeMs: 7 * DAY_MS, batchSize: 5 });

    expect(r.webhookLog.deleted).toBe(8);
    expect(r.webhookLog.complete).toBe(true);
    expect(await count('webhook_log', doneOld)).toBe(1);
    expect(await count('webhook_log', deadOld)).toBe(0);
    expect(await count('webhook_log', parsing)).toBe(4);
    expect(await count('webhook_log', queued)).toBe(4);
    expect(r.events).toEqual({ deleted: 0, batches: 0, complete: true });
  });

  it('deletes at most batchSize rows a statement, and stops a run at maxBatchesPerRun, resuming where it stopped', async () => {
    const done = await job('complete', 'done', 50);
    await addEvents(done, 10, 50);
    // one statement as the run uses it: at most 4 rows
    const [pass] = await runPrepared<{ deleted: number; scanned: number }>(ds, RetentionService.statement('events', 4), ['0', 30 * DAY_MS]);
    expect(pass.scanned).toBe(4);
    expect(pass.deleted).toBeLessThanOrEqual(4);

    const service = new RetentionService(ds);
    const opts = { eventsMaxAgeMs: 30 * DAY_MS, webhookLogMaxAgeMs: 0, batchSize: 2, maxBatchesPerRun: 1 };
    const first = await service.pruneOnce(opts);
    expect(first.events.batches).toBe(1);
    expect(first.events.deleted).toBeLessThanOrEqual(2);
    let total = pass.deleted + first.events.deleted;
    let runs = 1;
    for (let r = first; !r.events.complete; runs++) {
      r = await service.pruneOnce(opts);
      expect(r.events.batches).toBe(1);
      expect(r.events.deleted).toBeLessThanOrEqual(2);
      total += r.events.deleted;
    }
    expect(runs).toBeGreaterThan(1);
    expect(await count('events', done)).toBe(0);
    expect(total).toBe(10);
  });

  it('keeps everything when an age is 0', async () => {
    const done = await job('complete', 'done', 400);
    await addEvents(done, 3, 400);
    await addWebhooks(done, 3, 400);
    const r = await new RetentionService(ds).pruneOnce({ eventsMaxAgeMs: 0, webhookLogMaxAgeMs: 0, batchSize: 10 });
    expect(r).toEqual({ ran: true, events: { deleted: 0, batches: 0, complete: true }, webhookLog: { deleted: 0, batches: 0, complete: true } });
    expect(await count('events', done)).toBe(3);
    expect(await count('webhook_log', done)).toBe(3);
  });

  it('skips the run while another process holds the retention lock', async () => {
    const done = await job('complete', 'done', 400);
    await addEvents(done, 3, 400);
    const other = ds.createQueryRunner();
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(x'${RETENTION_LOCK_KEY}'::bigint)`);
      const r = await new RetentionService(ds).pruneOnce({ eventsMaxAgeMs: DAY_MS, webhookLogMaxAgeMs: DAY_MS, batchSize: 10 });
      expect(r.ran).toBe(false);
      expect(await count('events', done)).toBe(3);
    } finally {
      await other.query(`SELECT pg_advisory_unlock(x'${RETENTION_LOCK_KEY}'::bigint)`);
      await other.release();
    }
    const r = await new RetentionService(ds).pruneOnce({ eventsMaxAgeMs: DAY_MS, webhookLogMaxAgeMs: DAY_MS, batchSize: 10 });
    expect(r.ran).toBe(true);
    expect(await count('events', done)).toBe(0);
  });
});
