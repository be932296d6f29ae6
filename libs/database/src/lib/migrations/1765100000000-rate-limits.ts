import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `rate_limits`: the upload throttle's counters, shared by every api process (one row a user or client address: hits
 * in the current fixed window, when it ends, and until when the key is refused). UNLOGGED: counters need no crash
 * safety (a crash empties the table, which forgives the current window), and their writes skip the WAL.
 */
export class RateLimits1765100000000 implements MigrationInterface {
  name = 'RateLimits1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE upload_pipeline.rate_limits (
        key text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 300),
        hits int NOT NULL CHECK (hits >= 0),
        window_ends_at timestamptz NOT NULL,
        blocked_until timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE upload_pipeline.rate_limits`);
  }
}
