import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import { ParserWebhookService, signWebhook } from '../parser-webhook.service';
import { UploadsService } from '../uploads.service';
import { JobTransitionsService } from './job-transitions.service';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ClaimService } from './claim.service';
import { genericPlan, insertJobs, newQueuedJob as newQueuedJobIn, testClaimOptions, uploadJobScans } from './job-store.test-fixtures';

const options = testClaimOptions;
const NO_USER = '00000000-0000-0000-0000-000000000000';
const user = (c: string) => `${c.repeat(8)}-0000-4000-8000-000000000000`;
/** The claim statement for `n` jobs. */
const statementOf = (claim: ClaimService, n: number) => (claim as unknown as { statement(n: number): { name: string; text: string } }).statement(n);
const statementText = (claim: ClaimService, n: number) => statementOf(claim, n).text;
/** The node types reading `relation` in a plan. */
/** `fn` on a database of its own, migrated and never analyzed (like a new deployment's), over one connection. */
async function withFreshDatabase(fn: (one: DataSource) => Promise<void>): Promise<void> {
  const fresh = await createTestDatabase(migratedTemplate());
  const one = createDataSource({ url: fresh.url, poolSize: 1 });
  await one.initialize();
  try {
    await fn(one);
  } finally {
    await one.destroy();
    await fresh.drop();
  }
}

const nodeTypes = (plan: Record<string, unknown>, relation: string): string[] => [
  ...(plan['Relation Name'] === relation ? [String(plan['Node Type'])] : []),
  ...((plan['Plans'] as Record<string, unknown>[] | undefined) ?? []).flatMap((p) => nodeTypes(p, relation)),
];

describe('ClaimService (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uploads: UploadsService;
  let transitions: JobTransitionsService;

  const newQueuedJob = () => newQueuedJobIn(uploads, transitions);

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 8 });
    await ds.initialize();
    uploads = new UploadsService(ds);
    transitions = new JobTransitionsService(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  beforeEach(async () => {
    await ds.query(`DELETE FROM upload_pipeline.documents`);
  });

  it('claims queued jobs once, with a lease and a stage_started event', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => newQueuedJob()));
    const a = new ClaimService(ds, options('a'));
    const b = new ClaimService(ds, options('b'));
    const [ca, cb] = await Promise.all([a.claim(2), b.claim(2)]);
    const claimed = [...ca, ...cb].map((c) => c.jobId).sort();
    expect(claimed).toEqual([...ids].sort());
    expect(await a.claim(5)).toEqual([]);
    const rows = await ds.query(`SELECT claimed_by, lease_expires_at > now() AS live FROM upload_pipeline.upload_jobs ORDER BY claimed_by`);
    expect(rows.every((r: { live: boolean }) => r.live)).toBe(true);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.events WHERE event_type = 'stage_started' AND to_state = 'working'`);
    expect(n).toBe(3);
  });

  it('renews the leases it holds and reports the ones it lost', async () => {
    const [j1, j2] = await Promise.all([newQueuedJob(), newQueuedJob()]);
    const a = new ClaimService(ds, options('a', 60_000));
    expect((await a.claim(5)).map((c) => c.jobId).sort()).toEqual([j1, j2].sort());
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() + interval '1 second'`);
    expect(await a.renew([j1, j2])).toEqual([]);
    const [{ later }] = await ds.query(`SELECT bool_and(lease_expires_at > now() + interval '30 seconds') AS later FROM upload_pipeline.upload_jobs`);
    expect(later).toBe(true);
    // another worker took j2 over
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET claimed_by = 'b' WHERE job_id = $1`, [j2]);
    expect(await a.renew([j1, j2])).toEqual([j2]);
  });

  it('does not report as lost a job its own runner moved out of working, even while the renewal ran; reports a deleted one', async () => {
    const [j1, j2, j3] = await Promise.all([newQueuedJob(), newQueuedJob(), newQueuedJob()]);
    const a = new ClaimService(ds, options('a', 60_000));
    expect(await a.claim(5)).toHaveLength(3);
    const toWaiting = `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', claimed_by = NULL, lease_expires_at = NULL,
      next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`;
    // j1: the runner's last transition (to waiting at parsing) committed before the renewal
    await ds.query(toWaiting, [j1]);
    // j2: it commits while the renewal waits for the row (the renewal's snapshot still shows it working here)
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(toWaiting, [j2]);
      const renewing = a.renew([j1, j2, j3]);
      for (let i = 0; ; i++) {
        const [{ n }] = await ds.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%WITH renewed AS%'`,
        );
        if (n > 0) break;
        if (i > 500) throw new Error('the renewal never waited for the row');
        await new Promise((r) => setTimeout(r, 10));
      }
      await runner.commitTransaction();
      expect(await renewing).toEqual([]);
    } finally {
      await runner.release();
    }
    const rows = await ds.query(`SELECT job_id, lease_expires_at > now() + interval '30 seconds' AS renewed FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [j3]);
    expect(rows).toEqual([{ job_id: j3, renewed: true }]);
    // gone (its document was deleted): lost
    await ds.query(
      `DELETE FROM upload_pipeline.documents WHERE document_id = (SELECT document_id FROM upload_pipeline.upload_jobs WHERE job_id = $1)`,
      [j3],
    );
    expect(await a.renew([j1, j3])).toEqual([j3]);
  });

  it('reports a job taken over by another worker as lost, also once that worker has moved it out of working', async () => {
    const id = await newQueuedJob();
    const a = new ClaimService(ds, options('a', 60_000));
    const b = new ClaimService(ds, options('b', 60_000));
    expect(await a.claim(1)).toHaveLength(1);
    // a stalled: its lease ran out and b took the job
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = $1`, [id]);
    expect(await b.claim(1)).toEqual([expect.objectContaining({ jobId: id, fromState: 'working' })]);
    expect(await a.renew([id])).toEqual([id]);
    // b handed it on (to waiting at parsing) before a's next renewal: still lost for a, not for b
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', claimed_by = NULL, lease_expires_at = NULL,
       next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
      [id],
    );
    expect(await a.renew([id])).toEqual([id]);
    expect(await b.renew([id])).toEqual([]);
  });

  it('takes over a job whose lease expired, never one whose lease is live', async () => {
    const id = await newQueuedJob();
    const a = new ClaimService(ds, options('a', 60_000));
    const b = new ClaimService(ds, options('b', 60_000));
    await a.claim(1);
    expect(await b.claim(1)).toEqual([]);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() - interval '1 second' WHERE job_id = $1`, [id]);
    const taken = await b.claim(1);
    expect(taken).toEqual([expect.objectContaining({ jobId: id, fromState: 'working', stage: 'job_validated' })]);
    expect(await a.renew([id])).toEqual([id]);
  });

  it('claims retryable jobs only once due, and parse waits only after their timeout', async () => {
    const retry = await newQueuedJob();
    const w = new ClaimService(ds, options('w'));
    await w.claim(1);
    await transitions.apply(retry, { stage: 'job_validated', state: 'working' }, { type: 'fail_transient' }, {
      workerId: 'w',
      nextAttemptAt: new Date(Date.now() + 60_000),
    });
    expect(await w.claim(5)).toEqual([]);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET next_attempt_at = now() - interval '1 ms' WHERE job_id = $1`, [retry]);
    expect(await w.claim(5)).toEqual([expect.objectContaining({ jobId: retry, fromState: 'retryable' })]);

    // a job waiting for its parser webhook
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', claimed_by = NULL, lease_expires_at = NULL,
       next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
      [retry],
    );
    expect(await w.claim(5)).toEqual([]);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET next_attempt_at = now() - interval '1 ms' WHERE job_id = $1`, [retry]);
    expect(await w.claim(5)).toEqual([expect.objectContaining({ jobId: retry, fromState: 'waiting', stage: 'parsing' })]);
  });

  it('claims the oldest claimable jobs first, whichever rule makes each claimable', async () => {
    const [notDue, q1, retry, expired, parseWait, q2, q3] = await Promise.all(Array.from({ length: 7 }, () => newQueuedJob()));
    const set = (id: string, ageS: number, sql = '') =>
      ds.query(`UPDATE upload_pipeline.upload_jobs SET created_at = now() - $2 * interval '1 second'${sql} WHERE job_id = $1`, [id, ageS]);
    await set(notDue, 70, `, state = 'retryable', next_attempt_at = now() + interval '1 minute'`);
    await set(q1, 60);
    await set(retry, 50, `, state = 'retryable', next_attempt_at = now() - interval '2 seconds'`);
    await set(expired, 40, `, state = 'working', claimed_by = 'gone', lease_expires_at = now() - interval '2 seconds'`);
    await set(parseWait, 30, `, stage = 'parsing', state = 'waiting', next_attempt_at = now() - interval '2 seconds'`);
    await set(q2, 20);
    await set(q3, 10);
    const w = new ClaimService(ds, options('w'));
    const first = await w.claim(4);
    expect(first.map((c) => c.jobId).sort()).toEqual([q1, retry, expired, parseWait].sort());
    const byId = new Map(first.map((c) => [c.jobId, c]));
    expect(byId.get(retry)).toMatchObject({ fromState: 'retryable' });
    expect(byId.get(expired)).toMatchObject({ fromState: 'working' });
    expect(byId.get(parseWait)).toMatchObject({ fromState: 'waiting', stage: 'parsing' });
    // pickup counts from when each became claimable: the retry time, the lease's end, the wait's timeout
    // (2 s ago; counted from created_at, 30 to 50 s ago, they would be far over 20)
    for (const id of [retry, expired, parseWait]) {
      expect(byId.get(id)?.pickupSeconds).toBeGreaterThanOrEqual(1.5);
      expect(byId.get(id)?.pickupSeconds).toBeLessThan(20);
    }
    expect((await w.claim(5)).map((c) => c.jobId).sort()).toEqual([q2, q3].sort());
  });

  it('a claim reads about as many job rows as it claims, however long the queue', async () => {
    // 3,000 queued jobs, written directly (the API path would take long): a claim of 16 must not read them all
    await insertJobs(ds, 3000, 'job_validated', 'queued');
    await ds.query('ANALYZE upload_pipeline.upload_jobs');
    const claim = new ClaimService(ds, options('w'));
    // as a generic plan, the one a prepared statement ends up with: it must read as few rows as a custom one
    const plan = await genericPlan(ds, statementText(claim, 16), ['w', 60000, NO_USER, 16]);
    // rows that the scans picking candidates (those of upload_jobs on a condition on its state) produced or threw
    // away; the join back to the rows being updated is the planner's choice by table size, not the claim's
    const rows = uploadJobScans(plan)
      .filter((s) => s.cond.includes('state'))
      .reduce((n, s) => n + s.read, 0);
    expect(rows).toBeGreaterThanOrEqual(16);
    expect(rows).toBeLessThanOrEqual(16 * 4);
    expect((await claim.claim(16)).length).toBe(16);
  });

  it("one user's backlog of 2,000 does not delay another user's upload", async () => {
    const backlog = await insertJobs(ds, 2000, 'job_validated', 'queued', { userId: user('a'), createdAt: new Date(Date.now() - 3600_000) });
    const single = await newQueuedJob();
    // a claim of 16: the other user's job is in it, beside the backlog's 15 oldest
    const w = new ClaimService(ds, options('w'));
    const first = (await w.claim(16)).map((c) => c.jobId);
    expect(first).toContain(single);
    expect(first.filter((id) => id !== single).sort()).toEqual(backlog.slice(0, 15).sort());

    // claims of one job (a worker under backlog refills one slot at a time): within the first two, whichever user
    // the walk starts with
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET state = 'queued', claimed_by = NULL, lease_expires_at = NULL`);
    const v = new ClaimService(ds, options('v'));
    const ones: string[] = [];
    for (let i = 0; i < 4; i++) ones.push(...(await v.claim(1)).map((c) => c.jobId));
    expect(ones.slice(0, 2)).toContain(single);
    // and the backlog goes on oldest first
    expect(ones.filter((id) => id !== single)).toEqual(backlog.slice(0, 3));
  });

  it('serves users with backlogs in turn, each one oldest first', async () => {
    const start = Date.now() - 3600_000;
    // c's backlog is the oldest, then b's, then a's
    const jobs = new Map<string, string[]>();
    for (const [i, u] of ['c', 'b', 'a'].entries()) {
      jobs.set(user(u), await insertJobs(ds, 30, 'job_validated', 'queued', { userId: user(u), createdAt: new Date(start + i * 60_000) }));
    }
    const owner = new Map([...jobs].flatMap(([u, ids]) => ids.map((id) => [id, u] as const)));
    const w = new ClaimService(ds, options('w'));
    const ones: string[] = [];
    for (let i = 0; i < 7; i++) ones.push(...(await w.claim(1)).map((c) => c.jobId));
    // one job a claim, the users in turn (user_id order, wrapping around), each user's oldest first
    expect(ones.map((id) => owner.get(id))).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a'].map(user));
    expect(ones.filter((id) => owner.get(id) === user('a'))).toEqual(jobs.get(user('a'))?.slice(0, 3));
    // claims of three: one job of each user in every claim, where the previous claim left off
    for (let i = 0; i < 3; i++) {
      const claimed = (await w.claim(3)).map((c) => owner.get(c.jobId));
      expect(claimed.sort()).toEqual(['a', 'b', 'c'].map(user));
    }
    // a claim larger than the users: one each, then the oldest of the rest (c's backlog)
    const big = (await w.claim(8)).map((c) => c.jobId);
    const served = (u: string) => big.filter((id) => owner.get(id) === user(u));
    expect(served('a')).toHaveLength(1);
    expect(served('b')).toHaveLength(1);
    expect(served('c').sort()).toEqual(jobs.get(user('c'))?.slice(5, 11).sort());
  });

  it('a user whose turn older retries took comes first in the next claim', async () => {
    const a = await insertJobs(ds, 5, 'job_validated', 'queued', { userId: user('a'), createdAt: new Date(Date.now() - 120_000) });
    const b = await insertJobs(ds, 5, 'job_validated', 'queued', { userId: user('b'), createdAt: new Date(Date.now() - 60_000) });
    const retry = await newQueuedJob();
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET state = 'retryable', next_attempt_at = now() - interval '1 second',
       created_at = now() - interval '1 hour' WHERE job_id = $1`,
      [retry],
    );
    const w = new ClaimService(ds, options('w'));
    // the walk: a, b; the retry is older than both first jobs and b's is the newest: b is left out
    expect((await w.claim(2)).map((c) => c.jobId).sort()).toEqual([retry, a[0]].sort());
    // b's turn comes now, then a's
    expect((await w.claim(1)).map((c) => c.jobId)).toEqual([b[0]]);
    expect((await w.claim(1)).map((c) => c.jobId)).toEqual([a[1]]);
  });

  it("fills a claim from one user's backlog, oldest first", async () => {
    const backlog = await insertJobs(ds, 100, 'job_validated', 'queued', { userId: user('a'), createdAt: new Date(Date.now() - 3600_000) });
    const w = new ClaimService(ds, options('w'));
    expect((await w.claim(16)).map((c) => c.jobId).sort()).toEqual(backlog.slice(0, 16).sort());
    expect((await w.claim(16)).map((c) => c.jobId).sort()).toEqual(backlog.slice(16, 32).sort());
  });

  it.each([
    ['one user', 1],
    ['two users, one with a single job', 2],
    ['a user each', 3000],
  ])('the fair claim reads O(n) job rows at a 3,000-job backlog (%s)', async (_, users) => {
    const old = new Date(Date.now() - 3600_000);
    if (users === 3000) await insertJobs(ds, 3000, 'job_validated', 'queued', { createdAt: old });
    else {
      await insertJobs(ds, 3000 - (users - 1), 'job_validated', 'queued', { userId: user('a'), createdAt: old });
      if (users === 2) await insertJobs(ds, 1, 'job_validated', 'queued', { userId: user('b') });
    }
    await ds.query('ANALYZE upload_pipeline.upload_jobs');
    const claim = new ClaimService(ds, options('w'));
    for (const [n, cursor] of [
      [16, NO_USER],
      [16, user('a')],
      [1, NO_USER],
    ] as const) {
      const plan = await genericPlan(ds, statementText(claim, n), ['w', 60000, cursor, n]);
      const scans = uploadJobScans(plan);
      // every scan picking candidates: the walk over users, each user's first job, the other rules, the rest by age;
      // not the join back to the rows being updated (by job_id: the planner's choice by table size, not the claim's)
      const picking = scans.filter((s) => s.index && s.index !== 'upload_jobs_pkey');
      expect(scans.length - picking.length).toBeLessThanOrEqual(1);
      const rows = picking.reduce((r, s) => r + s.read, 0);
      expect(rows).toBeGreaterThanOrEqual(n);
      expect(rows).toBeLessThanOrEqual(n * 4 + 4);
    }
    expect((await claim.claim(16)).length).toBe(16);
  });

  it('claims of every size up to 16 share one prepared statement, whose generic plan is kept after the first five', async () => {
    // one connection: prepared statements and their plan counts are per connection
    const one = createDataSource({ url: db.url, poolSize: 1 });
    await one.initialize();
    try {
      await insertJobs(one, 60, 'job_validated', 'queued', { userId: user('a') });
      await insertJobs(one, 30, 'job_validated', 'queued', { userId: user('b') });
      const claim = new ClaimService(one, options('w'));
      expect(new Set([1, 2, 3, 8, 16].map((n) => statementOf(claim, n).name)).size).toBe(1);
      const sizes = [1, 2, 16, 1, 3, 1, 2, 8, 1, 1, 16, 1];
      for (const n of sizes) expect(await claim.claim(n)).toHaveLength(n);
      const rows = await one.query(
        `SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = $1`,
        [statementOf(claim, 1).name],
      );
      // PostgreSQL plans a statement's first five executions for their values, then keeps a generic plan unless it
      // costs more than those: planned once more, not on every call
      expect(rows).toEqual([{ generic: sizes.length - 5, custom: 5 }]);
    } finally {
      await one.destroy();
    }
  });

  it("a generic plan made on a never analyzed table of finished jobs probes each walked user's first job, not the user's whole backlog", async () => {
    // the benchmark's state mid-run: most rows done, one user's backlog queued, the table never analyzed. The plan read
    // the user's 600 queued jobs through upload_jobs_unfinished_idx (stage, state) and sorted them for `firsts`, at
    // every claim. (`rest` still reads the backlog in this state, by a bitmap scan of upload_jobs_queued_idx and a
    // sort: performance.md, round 16.)
    await withFreshDatabase(async (one) => {
      await insertJobs(one, 3000, 'complete', 'done', { userId: user('b') });
      await insertJobs(one, 600, 'job_validated', 'queued', { userId: user('a') });
      const claim = new ClaimService(one, options('w'));
      for (const n of [16, 2]) {
        const scans = uploadJobScans(await genericPlan(one, statementText(claim, n), ['w', 60000, NO_USER, n]));
        // the walk and each walked user's first job: probes of upload_jobs_queued_user_idx
        const probes = scans.filter((s) => s.index === 'upload_jobs_queued_user_idx');
        expect(probes.length).toBeGreaterThanOrEqual(2);
        expect(probes.reduce((r, s) => r + s.read, 0)).toBeLessThanOrEqual(2 * n + 2);
        // nothing reads the queued jobs through the (stage, state) index
        for (const s of scans.filter((x) => x.index === 'upload_jobs_unfinished_idx')) expect(s.read).toBeLessThanOrEqual(n);
      }
      expect((await claim.claim(16)).length).toBe(16);
    });
  });

  it('a generic plan made while the queue was short and never analyzed reads O(n) rows once the queue is long', async () => {
    // a database of its own: its tables have never been analyzed, like a new deployment's
    await withFreshDatabase(async (one) => {
      await insertJobs(one, 20, 'job_validated', 'queued', { userId: user('a') });
      const claim = new ClaimService(one, options('w'));
      for (let i = 0; i < 7; i++) await claim.claim(2);
      // their work is done (jobs in hand would be read by the expired-lease rule: as many as the workers' slots)
      await one.query(
        `UPDATE upload_pipeline.upload_jobs SET stage = 'complete', state = 'done', claimed_by = NULL, lease_expires_at = NULL WHERE state = 'working'`,
      );
      // the table grows tenfold and more without being analyzed: the connection keeps the plan it made
      await insertJobs(one, 300, 'complete', 'done', { userId: user('b') });
      await insertJobs(one, 3000, 'job_validated', 'queued', { userId: user('a') });
      const { name } = statementOf(claim, 2);
      const runner = one.createQueryRunner();
      await runner.connect();
      let plan: Record<string, unknown>;
      try {
        await runner.startTransaction();
        const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}('w', 60000, '${NO_USER}', 2)`);
        plan = row['QUERY PLAN'][0].Plan;
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
      const [{ generic }] = await one.query(`SELECT generic_plans::int AS generic FROM pg_prepared_statements WHERE name = $1`, [name]);
      expect(generic).toBeGreaterThan(0);
      // every scan of the jobs, the join back to the claimed rows included, and no whole-table scan of the documents
      const read = uploadJobScans(plan).reduce((r, s) => r + s.read, 0);
      expect(read).toBeGreaterThanOrEqual(2);
      expect(read).toBeLessThanOrEqual(2 * 5 + 4);
      expect(nodeTypes(plan, 'documents')).not.toContain('Seq Scan');
    });
  });

  it('never claims jobs that wait for their upload, are done or dead-lettered', async () => {
    const id = await newQueuedJob();
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET state = 'deadletter' WHERE job_id = $1`, [id]);
    const w = new ClaimService(ds, options('w'));
    expect(await w.claim(5)).toEqual([]);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET stage = 'uploaded', state = 'waiting' WHERE job_id = $1`, [id]);
    expect(await w.claim(5)).toEqual([]);
  });

  it("hands over, at parsing only, the status the parser's last signed webhook reported for the job's current parse", async () => {
    const id = await newQueuedJob();
    const w = new ClaimService(ds, options('w'));
    const webhooks = new ParserWebhookService(ds, transitions);
    const [{ webhook_secret: secret }] = (await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [
      id,
    ])) as { webhook_secret: string }[];
    const send = (body: object, key = secret) => {
      const raw = Buffer.from(JSON.stringify(body));
      return webhooks.handle(id, raw, signWebhook(key, raw), 'req-1');
    };
    // waiting at parsing for its second submission's webhook
    const wait = () =>
      ds.query(
        `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'parse-2', claimed_by = NULL,
         lease_expires_at = NULL, next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
        [id],
      );
    const claimedStatus = async () => {
      const [c] = await w.claim(1);
      expect(c).toMatchObject({ jobId: id, stage: 'parsing' });
      return c.parserReportedStatus;
    };

    await wait();
    // a forged webhook is not logged; one for the first submission is logged but is not this parse's word
    await expect(send({ id: 'parse-2', status: 'SUCCESS' }, 'not-the-secret')).resolves.toEqual({ status: 'unauthorized' });
    await expect(send({ id: 'parse-1', status: 'SUCCESS' })).resolves.toMatchObject({ status: 'ignored' });
    // a webhook without a status wakes the job and says nothing
    await expect(send({ id: 'parse-2' })).resolves.toEqual({ status: 'accepted', woke: true });
    expect(await claimedStatus()).toBeNull();
    await wait();
    await expect(send({ id: 'parse-2', status: 'ERROR' })).resolves.toEqual({ status: 'accepted', woke: true });
    expect(await claimedStatus()).toBe('ERROR');
    // the last one counts
    await wait();
    await expect(send({ id: 'parse-2', status: 'SUCCESS' })).resolves.toEqual({ status: 'accepted', woke: true });
    expect(await claimedStatus()).toBe('SUCCESS');
    // the webhook's wait timed out and it comes back: the same word
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET lease_expires_at = now() - interval '1 ms' WHERE job_id = $1`, [id]);
    expect(await claimedStatus()).toBe('SUCCESS');
    // resubmitted (a new parse): the old webhooks say nothing about it
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET parser_job_id = 'parse-3', state = 'queued', claimed_by = NULL WHERE job_id = $1`,
      [id],
    );
    expect(await claimedStatus()).toBeNull();
    // another stage: nothing to report
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'chunking', parser_job_id = 'parse-2', state = 'queued', claimed_by = NULL WHERE job_id = $1`,
      [id],
    );
    expect(await w.claim(1)).toEqual([expect.objectContaining({ jobId: id, stage: 'chunking', parserReportedStatus: null })]);
  });
});
