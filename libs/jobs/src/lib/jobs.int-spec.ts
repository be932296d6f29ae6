import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { JobTransitionsService } from './store/job-transitions.service';
import { JobsQueryService } from './jobs-query.service';
import { InvalidCursorError } from './keyset-cursor';
import { NewUpload, UploadsService } from './uploads.service';

const sha = () => randomBytes(32).toString('hex');

describe('jobs (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uploads: UploadsService;
  let transitions: JobTransitionsService;
  let query: JobsQueryService;

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

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 8 });
    await ds.initialize();
    uploads = new UploadsService(ds);
    transitions = new JobTransitionsService(ds);
    query = new JobsQueryService(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  describe('uploads', () => {
    it('creates a document and a waiting job with a first event', async () => {
      const user = randomUUID();
      const r = await uploads.createOrGet(upload(user));
      expect(r.created).toBe(true);
      expect(r.job).toMatchObject({ stage: 'uploaded', state: 'waiting', userId: user, documentId: r.document.documentId });
      expect(r.document.rawPath).toBe(`users/${user}/documents/${r.document.documentId}/raw`);
      expect(r.document.bytesLen).toBe(1234);
      const ev = await query.events(r.job.jobId);
      expect(ev.map((e) => [e.eventType, e.stage, e.toState])).toEqual([['stage_started', 'uploaded', 'waiting']]);
      expect(ev[0].correlationId).toBe(r.job.correlationId);
    });

    it('is idempotent per user and sha256, also under concurrency', async () => {
      const user = randomUUID();
      const u = upload(user);
      const results = await Promise.all(Array.from({ length: 8 }, () => uploads.createOrGet({ ...u })));
      const docIds = new Set(results.map((r) => r.document.documentId));
      expect(docIds.size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.upload_jobs WHERE user_id = $1`, [user]);
      expect(n).toBe(1);
      const other = await uploads.createOrGet({ ...u, userId: randomUUID() });
      expect(other.created).toBe(true);
      expect(other.document.documentId).not.toBe(results[0].document.documentId);
    });
  });

  describe('transitions', () => {
    it('apply a transition with its event and document status, once', async () => {
      const r = await uploads.createOrGet(upload(randomUUID()));
      const t = await transitions.apply(r.job.jobId, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' }, { actor: 'api' });
      expect(t?.to).toEqual({ stage: 'job_validated', state: 'queued' });
      // the same confirmation again (a retried PUT) changes nothing
      expect(await transitions.apply(r.job.jobId, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' })).toBeNull();
      const job = await query.findJob(r.job.jobId, r.job.userId);
      expect(job).toMatchObject({ stage: 'job_validated', state: 'queued' });
      const doc = await query.findDocument(r.document.documentId, r.document.userId);
      expect(doc?.processingStatus).toBe('processing');
      const ev = await query.events(r.job.jobId);
      expect(ev.map((e) => e.eventType)).toEqual(['stage_started', 'stage_done']);
      expect(ev[1]).toMatchObject({ fromStage: 'uploaded', fromState: 'waiting', stage: 'job_validated', toState: 'queued' });
    });

    it('fence working jobs by the lease holder', async () => {
      const r = await uploads.createOrGet(upload(randomUUID()));
      const id = r.job.jobId;
      await transitions.apply(id, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' });
      const claimed = await transitions.apply(id, { stage: 'job_validated', state: 'queued' }, { type: 'claim' }, { workerId: 'w1', leaseMs: 30_000 });
      expect(claimed?.to.state).toBe('working');
      const row = await ds.query(`SELECT claimed_by, lease_expires_at > now() AS live FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [id]);
      expect(row[0]).toEqual({ claimed_by: 'w1', live: true });
      // another worker cannot finish it
      expect(await transitions.apply(id, { stage: 'job_validated', state: 'working' }, { type: 'advance' }, { workerId: 'w2' })).toBeNull();
      const done = await transitions.apply(id, { stage: 'job_validated', state: 'working' }, { type: 'advance' }, { workerId: 'w1' });
      expect(done?.to).toEqual({ stage: 'parse_queued', state: 'queued' });
      const after = await ds.query(`SELECT claimed_by, lease_expires_at FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [id]);
      expect(after[0]).toEqual({ claimed_by: null, lease_expires_at: null });
    });

    it('count retries, record the error, dead-letter and retry by hand', async () => {
      const r = await uploads.createOrGet(upload(randomUUID()));
      const id = r.job.jobId;
      await transitions.apply(id, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' });
      await transitions.apply(id, { stage: 'job_validated', state: 'queued' }, { type: 'claim' }, { workerId: 'w', leaseMs: 1000 });
      const err = { kind: 'transient' as const, code: 'timeout', message: 'parser timed out', stage: 'job_validated' as const, at: new Date().toISOString() };
      const next = new Date(Date.now() + 5000);
      await transitions.apply(id, { stage: 'job_validated', state: 'working' }, { type: 'fail_transient' }, { workerId: 'w', lastError: err, nextAttemptAt: next });
      let job = await query.findJob(id, r.job.userId);
      expect(job).toMatchObject({ state: 'retryable', retryCount: 1, lastError: err });
      expect(job?.nextAttemptAt?.getTime()).toBe(next.getTime());
      await transitions.apply(id, { stage: 'job_validated', state: 'retryable' }, { type: 'fail_permanent' }, { lastError: { ...err, kind: 'permanent' } });
      expect((await query.findDocument(r.document.documentId, r.job.userId))?.processingStatus).toBe('failed');
      await transitions.apply(id, { stage: 'job_validated', state: 'deadletter' }, { type: 'retry' }, { lastError: null, actor: 'user' });
      job = await query.findJob(id, r.job.userId);
      expect(job).toMatchObject({ state: 'queued', retryCount: 0, lastError: null });
      expect((await query.events(id)).map((e) => e.eventType)).toEqual(['stage_started', 'stage_done', 'stage_started', 'retry', 'error', 'retry']);
    });

    it('let exactly one of many concurrent claimers win', async () => {
      const r = await uploads.createOrGet(upload(randomUUID()));
      await transitions.apply(r.job.jobId, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' });
      const wins = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          transitions.apply(r.job.jobId, { stage: 'job_validated', state: 'queued' }, { type: 'claim' }, { workerId: `w${i}`, leaseMs: 1000 }),
        ),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('owner-scoped reads', () => {
    it("never return another user's job or document", async () => {
      const r = await uploads.createOrGet(upload(randomUUID()));
      expect(await query.findJob(r.job.jobId, randomUUID())).toBeNull();
      expect(await query.findDocument(r.document.documentId, randomUUID())).toBeNull();
      expect(await query.findJob('not-a-uuid', r.job.userId)).toBeNull();
    });

    it('read a job with its events in one statement, as the two reads return them; the first 200 events, in order', async () => {
      const r = await uploads.createOrGet(upload(randomUUID()));
      const id = r.job.jobId;
      await transitions.apply(id, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' }, { actor: 'api', detail: { request_id: 'r1', n: 2 } });
      await transitions.apply(id, { stage: 'job_validated', state: 'queued' }, { type: 'claim' }, { workerId: 'w1', leaseMs: 30_000 });
      await ds.query(`UPDATE upload_pipeline.upload_jobs SET progress = '{"chunks_total": 4}', last_error = '{"code": "x"}' WHERE job_id = $1`, [id]);
      const both = await query.findJobWithEvents(id, r.job.userId);
      expect(both).toEqual({ job: await query.findJob(id, r.job.userId), events: await query.events(id) });
      expect(both?.events.map((e) => e.eventType)).toEqual(['stage_started', 'stage_done', 'stage_started']);
      expect(both?.events[1].detail).toEqual({ request_id: 'r1', n: 2 });
      expect(both?.job.webhookSecret).toBeUndefined(); // a secret the owner's reads never carry
      expect(both?.events[0].createdAt).toBeInstanceOf(Date);
      expect(typeof both?.events[0].eventId).toBe('string');

      // more events than are returned: the oldest 200, by event_id (ids past 9 sort wrong as text)
      await ds.query(
        `INSERT INTO upload_pipeline.events (job_id, document_id, event_type, stage, to_state, correlation_id)
         SELECT $1, $2, 'retry', 'job_validated', 'queued', 'c' FROM generate_series(1, 205)`,
        [id, r.document.documentId],
      );
      const many = await query.findJobWithEvents(id, r.job.userId);
      const first200 = await query.events(id);
      expect(many?.events).toHaveLength(200);
      expect(many?.events.map((e) => e.eventId)).toEqual(first200.map((e) => e.eventId));

      expect(await query.findJobWithEvents(id, randomUUID())).toBeNull();
      expect(await query.findJobWithEvents('not-a-uuid', r.job.userId)).toBeNull();
      expect(await query.findJobWithEvents(randomUUID(), r.job.userId)).toBeNull();
    });

    it('paginate newest first without gaps or repeats, even with equal timestamps', async () => {
      const user = randomUUID();
      const created = [];
      for (let i = 0; i < 7; i++) created.push((await uploads.createOrGet(upload(user))).job.jobId);
      // force identical created_at for some rows
      await ds.query(`UPDATE upload_pipeline.upload_jobs SET created_at = '2026-01-01T00:00:00.123456Z' WHERE job_id = ANY($1)`, [created.slice(0, 4)]);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await query.listJobs(user, { limit: 3, cursor });
        seen.push(...page.items.map((j) => j.jobId));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(seen).toHaveLength(7);
      expect(new Set(seen)).toEqual(new Set(created));
      const other = await query.listJobs(randomUUID(), { limit: 10 });
      expect(other.items).toEqual([]);
      await expect(query.listJobs(user, { limit: 3, cursor: 'garbage' })).rejects.toBeInstanceOf(InvalidCursorError);
    });
  });

});
