import { MigrationInterface, QueryRunner } from 'typeorm';

const DEFINITION = `USING btree (user_id, created_at) WHERE (state = 'queued'::text)`;

/**
 * Queued jobs by user, oldest first: the claim walks the users with queued jobs (one probe of this index a user,
 * however many jobs each has queued) and takes each one's oldest, so one user's backlog does not delay another user's
 * upload (decisions.md #24). The same predicate as `upload_jobs_queued_idx` (queued jobs, ordered by created_at), which
 * the claim still reads to fill a claim when fewer users than its size have queued jobs.
 *
 * Built CONCURRENTLY, outside a transaction, like the unfinished-jobs index (see that migration for the session
 * settings and why): an upgrade does not block the pipeline's writes while it reads a large table. An invalid index
 * left by a build that failed half-way is dropped and built again.
 */
export class QueuedUserIndex1765000000000 implements MigrationInterface {
  name = 'QueuedUserIndex1765000000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SET statement_timeout = 0`);
    await q.query(`SET lock_timeout = '60s'`);
    try {
      const [existing] = (await q.query(
        `SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i WHERE i.indexrelid = to_regclass('upload_pipeline.upload_jobs_queued_user_idx')`,
      )) as { valid: boolean; def: string }[];
      if (!existing?.valid || !existing.def.endsWith(DEFINITION)) {
        await q.query(`DROP INDEX CONCURRENTLY IF EXISTS upload_pipeline.upload_jobs_queued_user_idx`);
        await q.query(
          `CREATE INDEX CONCURRENTLY upload_jobs_queued_user_idx ON upload_pipeline.upload_jobs (user_id, created_at) WHERE state = 'queued'`,
        );
      }
    } finally {
      await q.query(`RESET lock_timeout`).catch(() => undefined);
      await q.query(`RESET statement_timeout`).catch(() => undefined);
    }
  }

  // reverted inside a transaction (TypeORM's revert ignores `transaction`): a plain drop
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS upload_pipeline.upload_jobs_queued_user_idx`);
  }
}
