import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { UploadsService } from '../uploads.service';
import type { JobTransitionsService } from './job-transitions.service';
import type { ClaimOptions } from './claim.service';

/** Claim options for the store's tests (not exported from the lib). */
export const testClaimOptions = (workerId: string, leaseMs = 30_000): ClaimOptions => ({ workerId, leaseMs });

/** A new upload whose bytes were confirmed: its job is at job_validated/queued. Returns the job id. */
export async function newQueuedJob(uploads: UploadsService, transitions: JobTransitionsService): Promise<string> {
  const r = await uploads.createOrGet({
    userId: randomUUID(),
    filename: 'a.md',
    mime: 'text/markdown',
    bytesLen: 10,
    sha256: randomBytes(32).toString('hex'),
    ocr: false,
    correlationId: randomUUID(),
    embedModel: 'text-embedding-3-small',
    embedVersion: 1,
    uploadExpiresAt: new Date(Date.now() + 60_000),
    rawKey: (u, d) => `users/${u}/documents/${d}/raw`,
  });
  await transitions.apply(r.job.jobId, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' });
  return r.job.jobId;
}

/**
 * `n` documents with a job each at `stage`/`state`, written directly (the API path takes long for thousands). `claimedBy`
 * gives the jobs a holder and a lease of a minute (a `working` job must have one). `userId`: all of them that user's
 * (by default each job has a user of its own). `createdAt`: their created_at, one millisecond apart from it in order
 * (by default all at the transaction's time).
 */
export async function insertJobs(
  ds: DataSource,
  n: number,
  stage: string,
  state: string,
  opts: { claimedBy?: string; userId?: string; createdAt?: Date } = {},
): Promise<string[]> {
  const rows = (await ds.query(
    `WITH d AS (
       INSERT INTO upload_pipeline.documents (user_id, filename, mime, bytes_len, file_sha256, raw_path)
       SELECT coalesce($5::uuid, gen_random_uuid()), 'f' || g, 'text/markdown', 10, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), 'raw/' || gen_random_uuid()
       FROM generate_series(1, $1::int) g
       RETURNING document_id, user_id, filename
     )
     INSERT INTO upload_pipeline.upload_jobs (document_id, user_id, stage, state, webhook_secret, embed_model, correlation_id, claimed_by, lease_expires_at, created_at)
     SELECT document_id, user_id, $2, $3, 's', 'text-embedding-3-small', 'c', $4::text, CASE WHEN $4::text IS NULL THEN NULL ELSE now() + interval '1 minute' END,
            coalesce($6::timestamptz + (row_number() OVER (ORDER BY substr(filename, 2)::int) - 1) * interval '1 millisecond', now())
     FROM d
     RETURNING job_id, created_at`,
    [n, stage, state, opts.claimedBy ?? null, opts.userId ?? null, opts.createdAt?.toISOString() ?? null],
  )) as { job_id: string; created_at: Date }[];
  return rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime()).map((r) => r.job_id);
}

/**
 * The plan PostgreSQL runs `text` with as a prepared statement once it settles on a generic plan, executed with
 * `args` (EXPLAIN ANALYZE) inside a transaction that is rolled back.
 */
export async function genericPlan(ds: DataSource, text: string, args: readonly (string | number)[] = []): Promise<Record<string, unknown>> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    await runner.query('SET LOCAL plan_cache_mode = force_generic_plan');
    await runner.query(`PREPARE generic_plan_check AS ${text}`);
    // EXECUTE's arguments are SQL literals (EXPLAIN takes no bind parameters)
    const literals = args.map((a) => (typeof a === 'number' ? String(a) : `'${String(a).replace(/'/g, "''")}'`));
    const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE generic_plan_check${literals.length ? `(${literals.join(', ')})` : ''}`);
    return row['QUERY PLAN'][0].Plan;
  } finally {
    await runner.rollbackTransaction();
    await runner.query('DEALLOCATE generic_plan_check').catch(() => undefined); // not undone by the rollback
    await runner.release();
  }
}

/** The scans of upload_jobs in a plan: their index, their conditions, and the rows they produced or threw away. */
export function uploadJobScans(plan: Record<string, unknown>): { index?: string; cond: string; read: number }[] {
  const scans: { index?: string; cond: string; read: number }[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (node['Relation Name'] === 'upload_jobs' && /Scan/.test(String(node['Node Type']))) {
      scans.push({
        index: node['Index Name'] as string | undefined,
        cond: JSON.stringify([node['Filter'], node['Index Cond'], node['Recheck Cond']]),
        read:
          Number(node['Actual Rows']) * Number(node['Actual Loops']) +
          Number(node['Rows Removed by Filter'] ?? 0) +
          Number(node['Rows Removed by Index Recheck'] ?? 0),
      });
    }
    for (const c of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(c);
  };
  walk(plan);
  return scans;
}
