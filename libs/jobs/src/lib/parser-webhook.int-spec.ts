import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ParserWebhookService, signWebhook } from './parser-webhook.service';
import { JobTransitionsService } from './store/job-transitions.service';
import { newQueuedJob } from './store/job-store.test-fixtures';
import { UploadsService } from './uploads.service';

describe('ParserWebhookService (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let transitions: JobTransitionsService;
  let webhooks: ParserWebhookService;

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    transitions = new JobTransitionsService(ds);
    webhooks = new ParserWebhookService(ds, transitions);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** A job waiting at parsing for parse `p-1`, and a signed delivery of its webhook. */
  async function waitingJob(): Promise<{ jobId: string; deliver: () => ReturnType<ParserWebhookService['handle']> }> {
    const jobId = await newQueuedJob(new UploadsService(ds), transitions);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'p-1' WHERE job_id = $1`, [jobId]);
    const [{ webhook_secret: secret }] = (await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])) as {
      webhook_secret: string;
    }[];
    const raw = Buffer.from(JSON.stringify({ id: 'p-1', status: 'SUCCESS' }));
    return { jobId, deliver: () => webhooks.handle(jobId, raw, signWebhook(secret, raw), `req-${randomUUID()}`) };
  }
  const logged = async (jobId: string) =>
    (await ds.query(`SELECT parser_job_id, status FROM upload_pipeline.webhook_log WHERE job_id = $1`, [jobId])) as unknown[];
  const wakeUps = async (jobId: string) =>
    ((await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.events WHERE job_id = $1 AND actor = 'webhook'`, [jobId])) as { n: number }[])[0].n;
  const stateOf = async (jobId: string) =>
    ((await ds.query(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])) as unknown[])[0];

  it('a job waiting for the parse: logged and woken (one wake-up event), a replay is a duplicate that changes nothing', async () => {
    const { jobId, deliver } = await waitingJob();
    await expect(deliver()).resolves.toEqual({ status: 'accepted', woke: true });
    expect(await logged(jobId)).toEqual([{ parser_job_id: 'p-1', status: 'SUCCESS' }]);
    expect(await stateOf(jobId)).toEqual({ stage: 'parsing', state: 'queued' });
    await expect(deliver()).resolves.toEqual({ status: 'duplicate' });
    expect(await logged(jobId)).toHaveLength(1);
    expect(await wakeUps(jobId)).toBe(1);
  });

  it('a job that moves on between the read and the wake-up: the delivery is still logged, and wakes nothing', async () => {
    const { jobId, deliver } = await waitingJob();
    // another transaction moves the job on (not yet committed): the read sees it waiting, the wake-up waits for its lock
    const runner = ds.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query(`UPDATE upload_pipeline.upload_jobs SET state = 'queued' WHERE job_id = $1`, [jobId]);
    const answer = deliver();
    for (let i = 0; i < 200; i++) {
      const [{ n }] = (await ds.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )) as { n: number }[];
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await runner.commitTransaction();
    await runner.release();
    await expect(answer).resolves.toEqual({ status: 'accepted', woke: false });
    expect(await logged(jobId)).toEqual([{ parser_job_id: 'p-1', status: 'SUCCESS' }]);
    expect(await wakeUps(jobId)).toBe(0);
  });

  it('a deleted job: its delivery is refused like an unknown one', async () => {
    const { jobId, deliver } = await waitingJob();
    await ds.query(`DELETE FROM upload_pipeline.documents WHERE document_id = (SELECT document_id FROM upload_pipeline.upload_jobs WHERE job_id = $1)`, [jobId]);
    await expect(deliver()).resolves.toEqual({ status: 'unauthorized' });
  });
});
