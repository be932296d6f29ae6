import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, DatabaseTemplate } from './test-database';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('createTestDatabase', () => {
  it('builds the template once and gives every caller its own copy of it', async () => {
    let migrations = 0;
    const tmpl: DatabaseTemplate = {
      fingerprint: `spec-${randomUUID()}`,
      migrate: async (url) => {
        migrations++;
        await query(url, `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)`);
      },
    };
    const [a, b] = await Promise.all([createTestDatabase(tmpl), createTestDatabase(tmpl)]);
    try {
      expect(migrations).toBe(1);
      expect(a.url).not.toBe(b.url);
      await query(a.url, `INSERT INTO t VALUES (2)`);
      expect(await query<{ n: string }>(a.url, `SELECT count(*) AS n FROM t`)).toEqual([{ n: '2' }]);
      expect(await query<{ n: string }>(b.url, `SELECT count(*) AS n FROM t`)).toEqual([{ n: '1' }]);
    } finally {
      await a.drop();
      await b.drop();
    }
    await expect(query(a.url, 'SELECT 1')).rejects.toThrow(/does not exist/);
  });

  it('does not leave a half-built template behind when migrating fails', async () => {
    const fingerprint = `spec-fail-${randomUUID()}`;
    await expect(
      createTestDatabase({ fingerprint, migrate: async () => Promise.reject(new Error('boom')) }),
    ).rejects.toThrow('boom');
    const ok = await createTestDatabase({ fingerprint, migrate: async (url) => void (await query(url, 'CREATE TABLE u (x int)')) });
    await ok.drop();
  });
});
