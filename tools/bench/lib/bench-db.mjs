// The bench's own connection to the stack's database: polling that counts its own transactions, the database's
// activity counters and (--pg-statements) the top statements.
import pg from 'pg';

/**
 * Connects to the stack's database. `q` runs a query and counts it in `ownXacts`: the transactions this script
 * causes during the measured window, subtracted from the database's commit count.
 */
export async function openBenchDb(databaseUrl, log) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'ingest-bench' });
  // the stack's database going away (a signal stops it) ends this client with an error event: not a crash
  client.on('error', (e) => log(`database connection: ${e.message}`));
  await client.connect();
  const db = {
    client,
    ownXacts: 0,
    async q(text, params) {
      db.ownXacts++;
      return (await client.query(text, params)).rows;
    },
    end: () => client.end().catch(() => undefined),
  };
  return db;
}

/** The database's transaction, row and WAL counters now (pg_stat_database, pg_stat_wal), as numbers. */
export async function dbCounters(client) {
  await client.query('SELECT pg_stat_clear_snapshot()');
  const [d] = (
    await client.query(
      `SELECT xact_commit::bigint AS xact_commit, xact_rollback::bigint AS xact_rollback, tup_inserted::bigint AS tup_inserted,
              tup_updated::bigint AS tup_updated, tup_deleted::bigint AS tup_deleted,
              -- the next transaction id: its delta counts write transactions (read-only ones get no xid)
              pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid
       FROM pg_stat_database WHERE datname = current_database()`,
    )
  ).rows;
  let wal = {};
  try {
    [wal] = (
      await client.query(
        `SELECT wal_records::bigint, wal_fpi::bigint, wal_bytes::bigint, wal_write::bigint, wal_sync::bigint FROM pg_stat_wal`,
      )
    ).rows;
  } catch {
    /* PostgreSQL < 14 */
  }
  return Object.fromEntries(Object.entries({ ...d, ...wal }).map(([k, v]) => [k, Number(v)]));
}

/**
 * The top statements of the window by total execution plus planning time (pg_stat_statements), per document. Both
 * are wall time (lock and I/O waits included), not CPU. The bench's own polling (pg_stat_*, its job-status reads) is
 * left out.
 */
export async function topStatements(client, n, limit = 25) {
  const { rows } = await client.query(
    `SELECT query, calls::bigint AS calls, total_exec_time, total_plan_time, plans::bigint AS plans, rows::bigint AS rows,
            wal_records::bigint AS wal_records
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = current_database()
        AND query !~* 'pg_stat|pg_snapshot|pg_current_snapshot| AS dead FROM '
      ORDER BY total_exec_time + total_plan_time DESC`,
  );
  const total = rows.reduce((t, r) => t + r.total_exec_time, 0);
  const plan = rows.reduce((t, r) => t + r.total_plan_time, 0);
  return {
    note: 'execution and planning time (wall, lock and I/O waits included) per document; calls, plans, rows and WAL records per document',
    exec_ms_per_doc_all: Number((total / n).toFixed(2)),
    plan_ms_per_doc_all: Number((plan / n).toFixed(2)),
    statements: rows.slice(0, limit).map((r) => ({
      query: r.query.replace(/\s+/g, ' ').slice(0, 160),
      calls_per_doc: Number((Number(r.calls) / n).toFixed(2)),
      exec_ms_per_doc: Number((r.total_exec_time / n).toFixed(3)),
      plan_ms_per_doc: Number((r.total_plan_time / n).toFixed(3)),
      plans_per_doc: Number((Number(r.plans) / n).toFixed(2)),
      mean_ms: Number((r.total_exec_time / Math.max(1, Number(r.calls))).toFixed(3)),
      rows_per_doc: Number((Number(r.rows) / n).toFixed(2)),
      wal_records_per_doc: Number((Number(r.wal_records) / n).toFixed(1)),
    })),
  };
}
