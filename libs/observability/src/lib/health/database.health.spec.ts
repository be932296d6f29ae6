import { DatabaseHealthIndicator, QueryableDatabase } from './database.health';

/**
 * Unit test of the indicator's logic against a fake exposing `query()` (what it needs of a TypeORM
 * DataSource). This lib is type:util and may not import @app/database / @app/testing for a real one;
 * the apps' e2e tests exercise it against PostgreSQL.
 */
class FakeDb implements QueryableDatabase {
  readonly queries: string[] = [];
  constructor(private readonly answer: () => Promise<unknown> = async () => [{ '?column?': 1 }]) {}
  query(sql: string): Promise<unknown> {
    this.queries.push(sql);
    return this.answer();
  }
}

describe('DatabaseHealthIndicator', () => {
  it('up when SELECT 1 answers', async () => {
    const db = new FakeDb();
    const r = await new DatabaseHealthIndicator(db).check();
    expect(db.queries).toEqual(['SELECT 1']);
    expect(r['database']).toMatchObject({ status: 'up' });
    expect(typeof r['database']['response_ms']).toBe('number');
  });

  it('down with the driver message when the query fails', async () => {
    const r = await new DatabaseHealthIndicator(new FakeDb(async () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:5432')))).check('db');
    expect(r).toEqual({ db: { status: 'down', message: 'ECONNREFUSED 127.0.0.1:5432' } });
  });

  it('down after the timeout when the database hangs', async () => {
    const hang = new FakeDb(() => new Promise(() => undefined));
    const r = await new DatabaseHealthIndicator(hang, { timeoutMs: 30 }).check();
    expect(r).toEqual({ database: { status: 'down', message: 'database ping timed out after 30 ms' } });
  });

  it('pending migrations: listed under <key>_migrations, which goes down', async () => {
    const db = new FakeDb();
    const seen: QueryableDatabase[] = [];
    const ind = new DatabaseHealthIndicator(db, {
      pendingMigrations: async (d) => {
        seen.push(d);
        return ['1732350000000-initial-schema', '1732400000000-search-index'];
      },
    });
    const r = await ind.check();
    expect(seen).toEqual([db]);
    expect(r['database']).toMatchObject({ status: 'up' });
    expect(r['database_migrations']).toEqual({
      status: 'down',
      pending: ['1732350000000-initial-schema', '1732400000000-search-index'],
      message: '2 migration(s) not applied',
    });
  });

  it('no pending migrations: both up; a failing migration check is down, naming the check', async () => {
    const ok = await new DatabaseHealthIndicator(new FakeDb(), { pendingMigrations: async () => [] }).check();
    expect(ok).toEqual({ database: expect.objectContaining({ status: 'up' }), database_migrations: { status: 'up', pending: [] } });
    const failing = await new DatabaseHealthIndicator(new FakeDb(), {
      timeoutMs: 30,
      pendingMigrations: () => new Promise(() => undefined),
    }).check();
    expect(failing['database_migrations']).toEqual({ status: 'down', message: 'pending migrations check timed out after 30 ms' });
  });

  it('does not check migrations when the ping already failed', async () => {
    const pending = jest.fn(async () => ['x']);
    const r = await new DatabaseHealthIndicator(new FakeDb(async () => Promise.reject(new Error('down'))), {
      pendingMigrations: pending,
    }).check();
    expect(pending).not.toHaveBeenCalled();
    expect(Object.keys(r)).toEqual(['database']);
  });

  it('provider() builds it from an injected token', () => {
    const token = Symbol('DS');
    const p = DatabaseHealthIndicator.provider({ inject: token, timeoutMs: 100 });
    expect(p.provide).toBe(DatabaseHealthIndicator);
    expect(p.inject).toEqual([token]);
    expect(p.useFactory(new FakeDb())).toBeInstanceOf(DatabaseHealthIndicator);
  });
});
