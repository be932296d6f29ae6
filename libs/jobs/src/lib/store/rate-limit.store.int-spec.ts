import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { RateLimitStore } from './rate-limit.store';

describe('RateLimitStore (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: RateLimitStore;

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    store = new RateLimitStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('counts hits in a fixed window, blocks past the limit, and keys are independent', async () => {
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await store.hit('a', 60_000, 3, 30_000));
    expect(hits.map((h) => [h.totalHits, h.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(hits[0].timeToExpire).toBeGreaterThanOrEqual(59);
    expect(hits[3].timeToBlockExpire).toBeGreaterThanOrEqual(29);
    expect(hits[3].timeToBlockExpire).toBeLessThanOrEqual(30);
    expect(await store.hit('b', 60_000, 3, 30_000)).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('concurrent hits from several connections are all counted (one atomic statement each)', async () => {
    const all = await Promise.all(Array.from({ length: 40 }, () => store.hit('c', 60_000, 1000, 1000)));
    expect(all.map((h) => h.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('a new window starts once the old one ended, and a block ends on its own time', async () => {
    await ds.query(
      `INSERT INTO upload_pipeline.rate_limits (key, hits, window_ends_at, blocked_until) VALUES ('d', 9, now() - interval '1 second', now() - interval '1 second')`,
    );
    expect(await store.hit('d', 60_000, 3, 30_000)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('prune deletes the counters idle for longer than asked, and only those', async () => {
    await ds.query(
      `INSERT INTO upload_pipeline.rate_limits (key, hits, window_ends_at, blocked_until) VALUES
         ('old', 1, now() - interval '2 days', NULL),
         ('old-blocked', 5, now() - interval '2 days', now() + interval '1 hour'),
         ('recent', 1, now() - interval '1 hour', NULL)`,
    );
    expect(await store.prune(24 * 3600 * 1000)).toBe(1);
    const keys = ((await ds.query(`SELECT key FROM upload_pipeline.rate_limits ORDER BY key`)) as { key: string }[]).map((r) => r.key);
    expect(keys).toEqual(expect.arrayContaining(['old-blocked', 'recent']));
    expect(keys).not.toContain('old');
  });
});
