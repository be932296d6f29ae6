import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { DataSource, EntityManager, QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';

/**
 * A hot statement run as a named prepared statement: PostgreSQL parses, analyses and plans it once
 * per connection instead of on every call (node-postgres sends Parse only the first time a name is
 * used on a connection). For the pipeline's multi-CTE statements that planning was most of their
 * server CPU: the upload INSERT ran at 2,352 statements/s unprepared against 4,175/s prepared on
 * the same server (pgbench, 8 clients).
 *
 * The name is derived from the text, so two texts never share a name and one text built twice
 * (statements assembled from options) reuses its plan. Build only statements whose text is drawn
 * from a bounded set: every distinct text stays prepared on each connection for its lifetime.
 * Not for a connection pooler in transaction mode that predates prepared-statement support
 * (PgBouncer < 1.21): see docs/operations.md.
 */
export class PreparedStatement {
  readonly name: string;

  constructor(readonly text: string) {
    this.name = `ingest_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
  }
}

const byText = new Map<string, PreparedStatement>();

/** The statement for `text`, created once per distinct text (for statements assembled per call). */
export function prepared(text: string): PreparedStatement {
  let s = byText.get(text);
  if (!s) {
    s = new PreparedStatement(text);
    byText.set(text, s);
  }
  return s;
}

type Executor = DataSource | EntityManager;

function dataSourceOf(on: Executor): DataSource {
  return on instanceof DataSource ? on : on.connection;
}

/**
 * Runs `statement` with `values` and returns its rows: on the transaction's connection when `on` is a
 * transactional EntityManager, else on a connection of TypeORM's own pool (same pool, same limits,
 * same statement_timeout). Values are converted by node-postgres exactly as TypeORM's `query()` would
 * pass them, and a failure is logged and thrown as TypeORM's QueryFailedError, as `query()` does.
 */
export async function runPrepared<T = Record<string, unknown>>(
  on: Executor,
  statement: PreparedStatement,
  values: readonly unknown[] = [],
): Promise<T[]> {
  const ds = dataSourceOf(on);
  const runner = on instanceof DataSource ? undefined : on.queryRunner;
  // a manager bound to a finished transaction must not fall back to the pool (outside the transaction)
  if (runner?.isReleased) throw new QueryRunnerAlreadyReleasedError();
  const config = { name: statement.name, text: statement.text, values: values as unknown[] };
  try {
    let result: QueryResult;
    if (runner) {
      const client = (await runner.connect()) as PoolClient;
      result = await client.query(config);
    } else {
      const pool = (ds.driver as unknown as { master: Pool }).master;
      result = await pool.query(config);
    }
    return result.rows as T[];
  } catch (err) {
    ds.logger.logQueryError(err as Error, statement.text, values as unknown[]);
    throw new QueryFailedError(statement.text, values as unknown[], err as Error);
  }
}
