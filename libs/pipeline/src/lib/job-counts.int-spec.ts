import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { countUnfinishedJobs, UNFINISHED_JOB_COUNTS } from './job-counts';

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

  /** `n` jobs at `stage`/`state`, written directly (the API path would take long for thousands). */
  const jobs = (n: number, stage: string, state: string, extra = '') =>
    ds.query(`
      WITH d AS (
        INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
        SELECT gen_random_uuid(), 'f' || g, 'text/markdown', 10, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), 'raw/' || gen_random_uuid()
        FROM generate_series(1, ${n}) g
        RETURNING document_id, user_id
      )
      INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id${extra ? ', claimed_by, lease_expires_at' : ''})
      SELECT document_id, user_id, '${stage}', '${state}', 's', 'text-embedding-3-small', 'c'${extra} FROM d`);

  it('counts every state but done, by stage, reading the unfinished jobs only however many are done', async () => {
    await jobs(3000, 'complete', 'done');
    await jobs(5, 'job_validated', 'queued');
    await jobs(3, 'embedding_in_progress', 'working', `, 'w', now() + interval '1 minute'`);
    await jobs(2, 'parsing', 'waiting');
    await jobs(1, 'chunking', 'deadletter');
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
    const runner = ds.createQueryRunner();
    await runner.connect();
    let plan: Record<string, unknown>;
    try {
      await runner.startTransaction();
      await runner.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await runner.query(`PREPARE job_counts_check AS ${UNFINISHED_JOB_COUNTS.text}`);
      const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE job_counts_check`);
      plan = row['QUERY PLAN'][0].Plan;
    } finally {
      await runner.rollbackTransaction();
      await runner.query('DEALLOCATE job_counts_check').catch(() => undefined);
      await runner.release();
    }
    const scans: { node: string; index?: string; read: number }[] = [];
    const walk = (node: Record<string, unknown>) => {
      if (node['Relation Name'] === 'upload_jobs') {
        scans.push({
          node: String(node['Node Type']),
          index: node['Index Name'] as string | undefined,
          read:
            Number(node['Actual Rows']) * Number(node['Actual Loops']) +
            Number(node['Rows Removed by Filter'] ?? 0) +
            Number(node['Rows Removed by Index Recheck'] ?? 0),
        });
      }
      for (const c of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(c);
    };
    walk(plan);
    expect(scans).toHaveLength(1);
    expect(scans[0].index).toBe('upload_jobs_unfinished_idx');
    expect(scans[0].read).toBe(11);
  });
});
