import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { prepared, PreparedStatement, runPrepared } from '@app/database';

export interface PruneOptions {
  /** Events older than this (of jobs finished at least this long ago) are deleted; 0 = keep events for ever. */
  eventsMaxAgeMs: number;
  /** webhook_log rows older than this (of finished jobs) are deleted; 0 = keep them for ever. */
  webhookLogMaxAgeMs: number;
  /** Rows read, and so at most deleted, by one statement (each its own short transaction). */
  batchSize: number;
  /** Statements per table and run at most (default 100): a run's cost is bounded whatever the backlog. */
  maxBatchesPerRun?: number;
}

export interface PruneTableResult {
  deleted: number;
  /** Statements run. */
  batches: number;
  /** The walk reached rows younger than the cutoff (or the table's end): nothing older is left to look at. */
  complete: boolean;
}

export interface PruneResult {
  /** False when another process held the retention lock: this run pruned nothing. */
  ran: boolean;
  events: PruneTableResult;
  webhookLog: PruneTableResult;
}

/** A stable key for pg_try_advisory_lock, so only one process prunes at a time ('retentio' in hex). */
export const RETENTION_LOCK_KEY = '726574656e74696f';

type Table = 'events' | 'webhook_log';

const FINISHED = `j.state IN ('done', 'deadletter')`;
const cutoff = (param: string) => `now() - ${param}::double precision * interval '1 millisecond'`;

/**
 * One pass over the next `n` rows of the table in primary-key order after `$1` (the walk's cursor), deleting the ones
 * that may go; the age is `$2` ms. Neither table has an index on its time column, and none is needed: ids are
 * allocated in insertion order and the time column defaults to now(), so the primary key's order is the rows' age
 * (up to the length of a transaction). A walk reads the oldest rows first and stops at the first younger than the
 * cutoff: a run reads what it deletes, the old rows it keeps, and one batch more, never the whole table.
 *
 * `n` is written into the statement (one prepared statement per batch size): a bound LIMIT would be planned as 10 %
 * of the table.
 *
 * What may go:
 * - events: older than the age, of a job that is done or dead-lettered and has not changed for as long (so a job's
 *   history goes whole, and never while the job can still run: the lease renewal reads a running job's newest
 *   `stage_started`, GET /api/v2/jobs/:id its first events). A job deleted takes its events with it (ON DELETE CASCADE).
 * - webhook_log: older than the age, of a job that is done or dead-lettered. Never a row of an unfinished job: the
 *   claim at `parsing` reads the job's newest row for its current parse. A dead letter retried from `parsing` goes
 *   back to `parse_queued` and submits a new parse, so its old rows are never read again.
 */
function passSql(table: Table, n: number): string {
  const [id, time] = table === 'events' ? ['event_id', 'created_at'] : ['id', 'received_at'];
  const jobFinished = table === 'events' ? `${FINISHED} AND j.updated_at < ${cutoff('$2')}` : FINISHED;
  return `
    WITH batch AS (
      SELECT t.${id} AS id, t.job_id, t.${time} < ${cutoff('$2')} AS old
      FROM upload_pipeline.${table} t
      WHERE t.${id} > $1
      ORDER BY t.${id}
      LIMIT ${n}
    ), del AS (
      DELETE FROM upload_pipeline.${table} t
      USING batch b, upload_pipeline.upload_jobs j
      WHERE t.${id} = b.id AND b.old AND j.job_id = b.job_id AND ${jobFinished}
      RETURNING t.${id}
    )
    SELECT (SELECT count(*) FROM del)::int AS deleted,
           (SELECT count(*) FROM batch)::int AS scanned,
           (SELECT max(id) FROM batch)::text AS last_id,
           coalesce((SELECT bool_and(old) FROM batch), false) AS all_old`;
}

interface PassRow {
  deleted: number;
  scanned: number;
  last_id: string | null;
  all_old: boolean;
}

/**
 * Retention of the job tables that grow with every job run: `events` and `webhook_log`. Deletes in small batches, one
 * short transaction each (row locks on the rows it deletes only: claims, transitions and webhooks go on), under a
 * session advisory lock so that one process prunes at a time (the others skip their run).
 */
@Injectable()
export class RetentionService {
  /** Where an unfinished walk (stopped at maxBatchesPerRun) resumes next run, per table; '0' = from the start. */
  private readonly cursors: Record<Table, string> = { events: '0', webhook_log: '0' };

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The statement of one pass over `table`, `batchSize` rows (exported for the tests through the class). */
  static statement(table: Table, batchSize: number): PreparedStatement {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error(`retention batch size must be a positive integer, got ${batchSize}`);
    return prepared(passSql(table, batchSize));
  }

  async pruneOnce(opts: PruneOptions): Promise<PruneResult> {
    const maxBatches = opts.maxBatchesPerRun ?? 100;
    // validates before taking a connection
    RetentionService.statement('events', opts.batchSize);
    const none: PruneTableResult = { deleted: 0, batches: 0, complete: true };
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock(x'${RETENTION_LOCK_KEY}'::bigint) AS locked`)) as {
        locked: boolean;
      }[];
      if (!locked) return { ran: false, events: none, webhookLog: none };
      try {
        const events = await this.pruneTable(runner.manager, 'events', opts.eventsMaxAgeMs, opts.batchSize, maxBatches);
        const webhookLog = await this.pruneTable(runner.manager, 'webhook_log', opts.webhookLogMaxAgeMs, opts.batchSize, maxBatches);
        return { ran: true, events, webhookLog };
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(x'${RETENTION_LOCK_KEY}'::bigint)`).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  private async pruneTable(on: EntityManager, table: Table, maxAgeMs: number, batchSize: number, maxBatches: number): Promise<PruneTableResult> {
    if (!(maxAgeMs > 0)) return { deleted: 0, batches: 0, complete: true };
    const statement = RetentionService.statement(table, batchSize);
    let deleted = 0;
    let batches = 0;
    let cursor = this.cursors[table];
    for (;;) {
      const [row] = await runPrepared<PassRow>(on, statement, [cursor, maxAgeMs]);
      batches++;
      deleted += row.deleted;
      // done: the table's end, or rows younger than the cutoff (everything after them is younger still)
      if (row.scanned < batchSize || !row.all_old || row.last_id === null) {
        this.cursors[table] = '0';
        return { deleted, batches, complete: true };
      }
      cursor = row.last_id;
      if (batches >= maxBatches) {
        this.cursors[table] = cursor;
        return { deleted, batches, complete: false };
      }
    }
  }
}
