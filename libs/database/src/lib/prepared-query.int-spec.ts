import { createEmptyDatabase, TestDatabase } from '@app/testing';
import { DataSource, EntityManager, QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';
import { createDataSource } from './data-source';
import { prepared, PreparedStatement, runPrepared } from './prepared-query';

/** Named prepared statements through TypeORM's pool and transactions, on a real PostgreSQL. */
describe('runPrepared (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createEmptyDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    await ds.query(`CREATE TABLE t (id int PRIMARY KEY, at timestamptz, tags text[], doc jsonb)`);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('names a statement by its text: one text, one name; another text, another name', () => {
    const a = new PreparedStatement('SELECT 1');
    expect(new PreparedStatement('SELECT 1').name).toBe(a.name);
    expect(new PreparedStatement('SELECT 2').name).not.toBe(a.name);
    expect(a.name).toMatch(/^ingest_[0-9a-f]{20}$/);
    expect(prepared('SELECT 3')).toBe(prepared('SELECT 3'));
  });

  it('passes values as TypeORM query() does and returns the rows, on every connection of the pool', async () => {
    const ins = new PreparedStatement(`INSERT INTO t (id, at, tags, doc) VALUES ($1, $2, $3, $4) RETURNING id, at, tags, doc`);
    const at = new Date('2026-01-02T03:04:05.678Z');
    // more calls than connections: the statement is parsed once per connection, then reused
    const rows = await Promise.all([1, 2, 3, 4, 5].map((id) => runPrepared(ds, ins, [id, at, ['a', 'b'], JSON.stringify({ id })])));
    expect(rows.map((r) => r[0])).toEqual(
      [1, 2, 3, 4, 5].map((id) => ({ id, at, tags: ['a', 'b'], doc: { id } })),
    );
    const [{ n }] = await runPrepared<{ n: number }>(ds, prepared(`SELECT count(*)::int AS n FROM t WHERE id = ANY($1::int[])`), [[1, 2, 3, 4, 5]]);
    expect(n).toBe(5);
  });

  it("runs on the transaction's connection when given its manager (a rollback undoes it)", async () => {
    const ins = prepared(`INSERT INTO t (id) VALUES ($1)`);
    await expect(
      ds.transaction(async (m) => {
        await runPrepared(m, ins, [100]);
        const [{ seen }] = await runPrepared<{ seen: boolean }>(m, prepared(`SELECT EXISTS (SELECT 1 FROM t WHERE id = $1) AS seen`), [100]);
        expect(seen).toBe(true); // visible inside the transaction
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const rows = await runPrepared(ds, prepared(`SELECT id FROM t WHERE id = $1`), [100]);
    expect(rows).toEqual([]);
  });

  it('throws TypeORM QueryFailedError with the driver error, as query() does', async () => {
    const dup = prepared(`INSERT INTO t (id) VALUES ($1)`);
    await runPrepared(ds, dup, [200]);
    const err = await runPrepared(ds, dup, [200]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryFailedError);
    expect((err as QueryFailedError & { driverError: { code: string } }).driverError.code).toBe('23505');
  });

  it("refuses a finished transaction's manager instead of running outside the transaction", async () => {
    let leaked: EntityManager | undefined;
    await ds.transaction(async (m: EntityManager) => {
      leaked = m;
    });
    if (!leaked) throw new Error('the transaction callback did not run');
    await expect(runPrepared(leaked, prepared(`SELECT 1`), [])).rejects.toBeInstanceOf(QueryRunnerAlreadyReleasedError);
  });
});
