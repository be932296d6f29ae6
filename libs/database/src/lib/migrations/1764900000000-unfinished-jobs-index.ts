import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The index on (stage, state) covers only unfinished jobs. The worker's `ingest_jobs` gauge counts jobs by stage
 * and state on every scrape; over the full index that count read every job ever run (linear in the table, on every
 * scrape of every worker). Over unfinished jobs it reads the backlog and the dead letters only, and a job's last
 * transition (to `done`) no longer adds an entry to this index. Nothing else read the full index: the claim has its
 * own partial indexes by state, and the api reads a user's jobs by (user_id, created_at).
 *
 * Built and dropped CONCURRENTLY, outside a transaction, so an upgrade does not block the pipeline's writes while it
 * reads a large table (this is why the migration lock is polled: see runMigrations). A build that failed half-way
 * leaves an invalid index behind: it is dropped first.
 */
export class UnfinishedJobsIndex1764900000000 implements MigrationInterface {
  name = 'UnfinishedJobsIndex1764900000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // no statement timeout of the connection's for the build (on a large table it may take a while); it is a
    // session setting here, outside a transaction, so it is put back before the connection returns to its pool
    await q.query(`SET statement_timeout = 0`);
    try {
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS upload_pipeline.upload_jobs_unfinished_idx`);
      await q.query(
        `CREATE INDEX CONCURRENTLY upload_jobs_unfinished_idx ON upload_pipeline.upload_jobs (stage, state) WHERE state <> 'done'`,
      );
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS upload_pipeline.upload_jobs_stage_state_idx`);
    } finally {
      await q.query(`RESET statement_timeout`);
    }
  }

  // TypeORM reverts a migration inside a transaction whatever its `transaction` says: the revert builds and drops
  // without CONCURRENTLY (it blocks writes to upload_jobs while it builds)
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS upload_pipeline.upload_jobs_stage_state_idx`);
    await q.query(`CREATE INDEX upload_jobs_stage_state_idx ON upload_pipeline.upload_jobs (stage, state)`);
    await q.query(`DROP INDEX IF EXISTS upload_pipeline.upload_jobs_unfinished_idx`);
  }
}
