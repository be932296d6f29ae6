import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { countUnfinishedJobs, UNFINISHED_JOB_COUNTS } from './job-counts';
import { genericPlan, insertJobs, uploadJobScans } from './job-store.test-fixtures';

describe('countUnfinishedJobs (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('counts every state but done, by stage, reading the unfinished jobs only however many are done', async () => {
    await insertJobs(ds, 3000, 'complete', 'done');
    await insertJobs(ds, 5, 'job_validated', 'queued');
    await insertJobs(ds, 3, 'embedding_in_progress', 'working', { claimedBy: 'w' });
    await insertJobs(ds, 2, 'parsing', 'waiting');
    await insertJobs(ds, 1, 'chunking', 'deadletter');
    await ds.query('ANALYZE upload_pipeline.upload_jobs');

    const counts = (await countUnfinishedJobs(ds)).sort((a, b) => `${a.stage}/${a.state}`.localeCompare(`${b.stage}/${b.state}`));
    expect(counts).toEqual([
      { stage: 'chunking', state: 'deadletter', count: 1 },
      { stage: 'embedding_in_progress', state: 'working', count: 3 },
      { stage: 'job_validated', state: 'queued', count: 5 },
      { stage: 'parsing', state: 'waiting', count: 2 },
    ]);

    // the statement as the worker runs it (prepared, so a generic plan): rows of upload_jobs its scans produced or
    // threw away must be the 11 unfinished ones, not the 3,000 done (the full-table count read them all)
    const scans = uploadJobScans(await genericPlan(ds, UNFINISHED_JOB_COUNTS.text));
    expect(scans).toHaveLength(1);
    expect(scans[0].index).toBe('upload_jobs_unfinished_idx');
    expect(scans[0].read).toBe(11);
  });
});
