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
 * leaves an invalid index behind: it is dropped and built again.
 */
export class UnfinishedJobsIndex1764900000000 implements MigrationInterface {
  name = 'UnfinishedJobsIndex1764900000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // Session settings (outside a transaction), put back before the connection returns to its pool:
    // - no statement timeout of the connection's: on a large table the build may take a while;
    // - a lock timeout: the build waits for every transaction open when it starts. A process of the previous version
    //   starting meanwhile blocks in pg_advisory_lock (which it did not poll) with a snapshot, and would wait for
    //   this migration's lock while the build waits for it. The build fails after a minute instead, releases the
    //   lock, and the next start builds it again.
    await q.query(`SET statement_timeout = 0`);
    await q.query(`SET lock_timeout = '60s'`);
    try {
      const [existing] = (await q.query(
        `SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i WHERE i.indexrelid = to_regclass('upload_pipeline.upload_jobs_unfinished_idx')`,
      )) as { valid: boolean; def: string }[];
      // a valid one from a run that failed after building it is kept; an invalid one (a build that failed half-way)
      // or another definition is built again
      if (!existing?.valid || !existing.def.endsWith(`USING btree (stage, state) WHERE (state <> 'done'::text)`)) {
        await q.query(`DROP INDEX CONCURRENTLY IF EXISTS upload_pipeline.upload_jobs_unfinished_idx`);
        await q.query(
          `CREATE INDEX CONCURRENTLY upload_jobs_unfinished_idx ON upload_pipeline.upload_jobs (stage, state) WHERE state <> 'done'`,
        );
      }
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS upload_pipeline.upload_jobs_stage_state_idx`);
    } finally {
      // not masking the build's own error when the connection is gone
      await q.query(`RESET lock_timeout`).catch(() => undefined);
      await q.query(`RESET statement_timeout`).catch(() => undefined);
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
