import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { RateLimitStore } from './store/rate-limit.store';
import { NewUpload, UploadsService } from './uploads.service';

const sha = () => randomBytes(32).toString('hex');

describe('UploadsService.createOrGetCounted (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uploads: UploadsService;
  let limits: RateLimitStore;

  const upload = (userId: string, over: Partial<NewUpload> = {}): NewUpload => ({
    userId,
    filename: 'report.pdf',
    mime: 'application/pdf',
    bytesLen: 1234,
    sha256: sha(),
    ocr: false,
    correlationId: `corr-${randomUUID()}`,
    embedModel: 'text-embedding-3-small',
    embedVersion: 1,
    uploadExpiresAt: new Date(Date.now() + 60_000),
    rawKey: (u, d) => `users/${u}/documents/${d}/raw`,
    ...over,
  });
  const limit = (key: string, max = 3) => ({ key, windowMs: 60_000, limit: max, blockMs: 30_000 });
  const documentsOf = async (userId: string) =>
    ((await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.documents WHERE user_id = $1`, [userId])) as { n: number }[])[0].n;

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 8 });
    await ds.initialize();
    uploads = new UploadsService(ds);
    limits = new RateLimitStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('creates the document and job and counts the hit in one statement; the summary is what the entities hold', async () => {
    const user = randomUUID();
    const { hit, record } = await uploads.createOrGetCounted(upload(user), limit(`k-${user}`));
    expect(hit).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
    expect(hit.timeToExpire).toBeGreaterThanOrEqual(59);
    expect(record?.created).toBe(true);
    const full = await uploads.findByRawPath(record!.document.documentId, record!.document.rawPath);
    expect(await uploads.findSummaryByRawPath(record!.document.documentId, record!.document.rawPath)).toEqual({ document: record!.document, job: record!.job });
    expect(await uploads.findSummaryByRawPath(record!.document.documentId, 'other/key')).toBeNull();
    expect(record!.document).toEqual({
      documentId: full!.document.documentId,
      rawPath: full!.document.rawPath,
      bytesLen: 1234,
      fileSha256: full!.document.fileSha256,
      mime: 'application/pdf',
    });
    expect(record!.job).toEqual({ jobId: full!.job.jobId, documentId: full!.document.documentId, stage: 'uploaded', state: 'waiting', lastError: null });
  });

  it('a refused hit creates nothing; the counter is the one RateLimitStore.hit counts', async () => {
    const user = randomUUID();
    const key = `k-${user}`;
    await limits.hit(key, 60_000, 3, 30_000);
    await limits.hit(key, 60_000, 3, 30_000);
    expect((await uploads.createOrGetCounted(upload(user), limit(key))).hit).toMatchObject({ totalHits: 3, isBlocked: false });
    const refused = await uploads.createOrGetCounted(upload(user), limit(key));
    expect(refused.record).toBeNull();
    expect(refused.hit).toMatchObject({ totalHits: 4, isBlocked: true });
    expect(refused.hit.timeToBlockExpire).toBeGreaterThanOrEqual(29);
    expect(await documentsOf(user)).toBe(1);
  });

  it('the same bytes again: the existing document (created false), and the hit still counts', async () => {
    const user = randomUUID();
    const u = upload(user);
    const first = await uploads.createOrGetCounted(u, limit(`k-${user}`, 10));
    const again = await uploads.createOrGetCounted({ ...u, correlationId: 'other' }, limit(`k-${user}`, 10));
    expect(again.hit.totalHits).toBe(2);
    expect(again.record).toEqual({ ...first.record, created: false });
  });

  it('concurrent identical requests of one user end with one document, and every hit counts', async () => {
    const user = randomUUID();
    const u = upload(user);
    const all = await Promise.all(Array.from({ length: 8 }, () => uploads.createOrGetCounted({ ...u }, limit(`k-${user}`, 100))));
    expect(all.filter((r) => r.record?.created)).toHaveLength(1);
    expect(new Set(all.map((r) => r.record?.document.documentId)).size).toBe(1);
    expect(all.map((r) => r.hit.totalHits).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await documentsOf(user)).toBe(1);
  });

  it("every job's webhook secret is 32 random bytes of its own (more jobs than one draw of the pool)", async () => {
    const user = randomUUID();
    for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 100 }, () => uploads.createOrGet(upload(user))));
    const secrets = ((await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE user_id = $1`, [user])) as { webhook_secret: string }[]).map(
      (r) => r.webhook_secret,
    );
    expect(secrets).toHaveLength(300);
    expect(new Set(secrets).size).toBe(300);
    for (const s of secrets) expect(s).toMatch(/^[0-9a-f]{64}$/);
  });
});
