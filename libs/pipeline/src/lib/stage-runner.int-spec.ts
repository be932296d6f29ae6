import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { PermanentError, TransientError } from '@app/errors';
import { createDataSource, migratedTemplate } from '@app/database';
import { ClaimedJob, ClaimService, JobStore, JobTransitionsService, ParserWebhookService, signWebhook, UploadsService } from '@app/jobs';
import { MetricsService } from '@app/observability';
import type { Stage } from '@app/state-machine';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { PassThroughHandler } from './handlers/pass-through.handler';
import type { JobContext, StageHandler, StageResult } from './job-context';
import { newQueuedJob, testPipelineOptions } from './pipeline.test-fixtures';
import { StageRunner } from './stage-runner.service';

const WORKER = 'runner-test';
const options = testPipelineOptions(WORKER, 30_000, { webhookTimeoutMs: 60_000 });

interface EventRow {
  event_type: string;
  stage: string;
  from_stage: string;
  from_state: string;
  to_state: string;
  detail: Record<string, unknown> | null;
  t: number;
  /** The transaction that wrote it. */
  tx: string;
}

/** A handler for one stage whose work the test decides. */
const handler = (stage: Stage, run: (ctx: JobContext) => Promise<StageResult>, commitsWithNext = false): StageHandler => ({
  stages: [stage],
  commitsWithNext,
  run,
});

/**
 * The runner on a real PostgreSQL, with handlers of the test's own: a stage whose handler `commitsWithNext` has its
 * transition committed in the next stage's statement (and so with the next stage's failure or release), each step
 * keeping its own event row, dated when its work was done.
 */
describe('StageRunner: transitions committed with the next stage (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uploads: UploadsService;
  let transitions: JobTransitionsService;
  let claims: ClaimService;

  const jobRow = async (jobId: string) =>
    ((await ds.query(
      `SELECT stage, state, claimed_by, retry_count, parser_job_id, last_error FROM upload_pipeline.upload_jobs WHERE job_id = $1`,
      [jobId],
    )) as { stage: string; state: string; claimed_by: string | null; retry_count: number; parser_job_id: string | null; last_error: { stage: string } | null }[])[0];
  /** The job's events after its claim. */
  const eventsAfterClaim = async (jobId: string): Promise<EventRow[]> => {
    const rows = (await ds.query(
      `SELECT event_type, stage, from_stage, from_state, to_state, detail, extract(epoch FROM created_at)::float8 * 1000 AS t, xmin::text AS tx
       FROM upload_pipeline.events WHERE job_id = $1 ORDER BY event_id`,
      [jobId],
    )) as EventRow[];
    const claim = rows.findIndex((e) => e.event_type === 'stage_started' && e.to_state === 'working');
    return rows.slice(claim + 1);
  };
  const brief = (events: EventRow[]) => events.map((e) => `${e.event_type} ${e.from_stage}/${e.from_state} -> ${e.stage}/${e.to_state}`);

  /** A new job at `stage`/queued, claimed by the test's worker. */
  async function claimedAt(stage: Stage): Promise<ClaimedJob> {
    const jobId = await newQueuedJob(uploads, transitions);
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET stage = $2 WHERE job_id = $1`, [jobId, stage]);
    const [claimed] = await claims.claim(1);
    expect(claimed.jobId).toBe(jobId);
    return claimed;
  }

  const runner = (handlers: StageHandler[]) =>
    new StageRunner(new JobStore(ds), transitions, options, [...handlers, new PassThroughHandler()], new MetricsService({ app: 'worker', defaultMetrics: false }));

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    uploads = new UploadsService(ds);
    transitions = new JobTransitionsService(ds);
    claims = new ClaimService(ds, options);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  beforeEach(async () => {
    await ds.query(`DELETE FROM upload_pipeline.documents`);
  });

  it('commits the deferred stage with the next one: one statement, an event each, each dated when its work was done', async () => {
    const job = await claimedAt('job_validated');
    const seenByNext: unknown[] = [];
    const outcome = await runner([
      handler('job_validated', async () => ({ type: 'advance', detail: { bytes: 10 } }), true),
      handler('parse_queued', async (ctx) => {
        // the next stage runs on the job as the deferred transition leaves it, while the row has not moved yet
        seenByNext.push(ctx.job.stage, await jobRow(job.jobId));
        await sleep(60);
        return { type: 'advance', parserJobId: 'parser-1', nextAttemptAt: new Date(Date.now() + 60_000), detail: { parser_job_id: 'parser-1' } };
      }),
    ]).run(job, new AbortController().signal, new AbortController().signal);

    expect(outcome).toBe('waiting');
    expect(seenByNext).toEqual(['parse_queued', expect.objectContaining({ stage: 'job_validated', state: 'working', claimed_by: WORKER })]);
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'parsing', state: 'waiting', claimed_by: null, parser_job_id: 'parser-1' });
    const events = await eventsAfterClaim(job.jobId);
    expect(brief(events)).toEqual([
      'stage_done job_validated/working -> parse_queued/working',
      'stage_done parse_queued/working -> parsing/waiting',
    ]);
    expect(events.map((e) => e.detail)).toEqual([{ bytes: 10 }, { parser_job_id: 'parser-1' }]);
    expect(events[0].tx).toBe(events[1].tx); // one commit
    // the first step's event is dated when it was done, before the next stage's 60 ms of work
    expect(events[1].t - events[0].t).toBeGreaterThanOrEqual(45);
  });

  it('a transient failure of the next stage commits the deferred step and the retry at the stage that failed', async () => {
    const job = await claimedAt('job_validated');
    const outcome = await runner([
      handler('job_validated', async () => ({ type: 'advance' }), true),
      handler('parse_queued', async () => {
        throw new TransientError('parser unavailable', { code: 'parser_down', service: 'parser' });
      }),
    ]).run(job, new AbortController().signal, new AbortController().signal);

    expect(outcome).toBe('retryable');
    const row = await jobRow(job.jobId);
    expect(row).toMatchObject({ stage: 'parse_queued', state: 'retryable', claimed_by: null, retry_count: 1 });
    expect(row.last_error).toMatchObject({ stage: 'parse_queued', code: 'parser_down' });
    expect(brief(await eventsAfterClaim(job.jobId))).toEqual([
      'stage_done job_validated/working -> parse_queued/working',
      'retry parse_queued/working -> parse_queued/retryable',
    ]);
  });

  it('a lost lease writes nothing: the row stays at the deferred stage, for whoever holds it now', async () => {
    const job = await claimedAt('job_validated');
    const leaseLost = new AbortController();
    const outcome = await runner([
      handler('job_validated', async () => ({ type: 'advance' }), true),
      handler('parse_queued', async () => {
        leaseLost.abort();
        throw new Error('aborted');
      }),
    ]).run(job, new AbortController().signal, leaseLost.signal);

    expect(outcome).toBe('lost');
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'job_validated', state: 'working', claimed_by: WORKER });
    expect(await eventsAfterClaim(job.jobId)).toEqual([]);
  });

  it('a job taken over by another worker meanwhile: the commit finds it not ours and writes nothing', async () => {
    const job = await claimedAt('job_validated');
    const outcome = await runner([
      handler('job_validated', async () => ({ type: 'advance' }), true),
      handler('parse_queued', async () => {
        // its lease ran out and another worker claimed it
        await ds.query(`UPDATE upload_pipeline.upload_jobs SET claimed_by = 'other-worker' WHERE job_id = $1`, [job.jobId]);
        return { type: 'advance', parserJobId: 'parser-x', nextAttemptAt: new Date(Date.now() + 60_000) };
      }),
    ]).run(job, new AbortController().signal, new AbortController().signal);

    expect(outcome).toBe('lost');
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'job_validated', state: 'working', claimed_by: 'other-worker', parser_job_id: null });
    expect(await eventsAfterClaim(job.jobId)).toEqual([]);
  });

  it("clears the claimed row's last_error when the job moves on, and keeps it on a release", async () => {
    const error = { kind: 'transient', code: 'parser_down', message: 'x', stage: 'job_validated', at: new Date().toISOString() };
    const withError = async () => {
      const claimed = await claimedAt('job_validated');
      await ds.query(`UPDATE upload_pipeline.upload_jobs SET last_error = $2, retry_count = 2 WHERE job_id = $1`, [claimed.jobId, error]);
      return { ...claimed, job: Object.assign(claimed.job, { lastError: error, retryCount: 2 }) };
    };
    const moved = await withError();
    expect(
      await runner([
        handler('job_validated', async () => ({ type: 'advance' }), true),
        handler('parse_queued', async () => ({ type: 'advance', parserJobId: 'parser-2', nextAttemptAt: new Date(Date.now() + 60_000) })),
      ]).run(moved, new AbortController().signal, new AbortController().signal),
    ).toBe('waiting');
    expect(await jobRow(moved.jobId)).toMatchObject({ stage: 'parsing', state: 'waiting', retry_count: 0, last_error: null });

    const released = await withError();
    const shutdown = new AbortController();
    expect(
      await runner([
        handler('job_validated', async () => {
          shutdown.abort();
          throw new Error('aborted');
        }, true),
      ]).run(released, shutdown.signal, new AbortController().signal),
    ).toBe('released');
    expect(await jobRow(released.jobId)).toMatchObject({ stage: 'job_validated', state: 'queued', retry_count: 2, last_error: { code: 'parser_down' } });
  });

  it('a deferred step committed in the final statement, with that stage\'s own writes, is dated when it was done, after its claim', async () => {
    const job = await claimedAt('embedding_in_progress');
    const outcome = await runner([
      handler('embedding_in_progress', async () => ({ type: 'advance', detail: { embedded: 0 } }), true),
      // a final stage that takes a while after the deferred step was done
      handler('embeddings_stored', async () => {
        await new Promise((r) => setTimeout(r, 100));
        return { type: 'advance' };
      }),
    ]).run(job, new AbortController().signal, new AbortController().signal);

    expect(outcome).toBe('done');
    const rows = (await ds.query(
      `SELECT event_type, stage, detail, extract(epoch FROM created_at)::float8 * 1000 AS t, xmin::text AS tx
       FROM upload_pipeline.events WHERE job_id = $1 ORDER BY event_id`,
      [job.jobId],
    )) as EventRow[];
    const claim = rows.find((e) => e.event_type === 'stage_started' && e.stage === 'embedding_in_progress');
    const [embedded, finalized] = rows.slice(-2);
    expect([embedded.event_type, embedded.stage, embedded.detail]).toEqual(['stage_done', 'embeddings_stored', { embedded: 0 }]);
    expect([finalized.event_type, finalized.stage]).toEqual(['finalized', 'complete']);
    expect(embedded.tx).toBe(finalized.tx);
    // not before its own claim (the step was done before the statement and its 100 ms move began)
    expect(embedded.t).toBeGreaterThanOrEqual(claim?.t ?? Infinity);
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'complete', state: 'done' });
  });

  it('a shutdown during the next stage releases the job there, with the deferred step recorded', async () => {
    const job = await claimedAt('job_validated');
    const shutdown = new AbortController();
    const outcome = await runner([
      handler('job_validated', async () => ({ type: 'advance' }), true),
      handler('parse_queued', async () => {
        shutdown.abort();
        throw new Error('aborted');
      }),
    ]).run(job, shutdown.signal, new AbortController().signal);

    expect(outcome).toBe('released');
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'parse_queued', state: 'queued', claimed_by: null });
    expect(brief(await eventsAfterClaim(job.jobId))).toEqual([
      'stage_done job_validated/working -> parse_queued/working',
      'retry parse_queued/working -> parse_queued/queued',
    ]);
  });

  it('a job claimed ahead whose worker stops before it got a slot: released at its stage, its handler never run', async () => {
    const job = await claimedAt('job_validated');
    const shutdown = new AbortController();
    shutdown.abort();
    const ran: string[] = [];
    const outcome = await runner([
      handler('job_validated', async () => (ran.push('job_validated'), { type: 'advance' }), true),
    ]).run(job, shutdown.signal, new AbortController().signal);

    expect(outcome).toBe('released');
    expect(ran).toEqual([]);
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'job_validated', state: 'queued', claimed_by: null });
    expect(brief(await eventsAfterClaim(job.jobId))).toEqual(['retry job_validated/working -> job_validated/queued']);
    // and it is claimable again at once
    const [again] = await claims.claim(1);
    expect(again?.jobId).toBe(job.jobId);
  });

  it('a job claimed ahead whose lease was lost while it waited for a slot: nothing run, nothing written', async () => {
    const job = await claimedAt('job_validated');
    const leaseLost = new AbortController();
    leaseLost.abort();
    const ran: string[] = [];
    const outcome = await runner([
      handler('job_validated', async () => (ran.push('job_validated'), { type: 'advance' }), true),
    ]).run(job, new AbortController().signal, leaseLost.signal);

    expect(outcome).toBe('lost');
    expect(ran).toEqual([]);
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'job_validated', state: 'working', claimed_by: WORKER });
    expect(await eventsAfterClaim(job.jobId)).toEqual([]);
  });

  it('writes the deferred stage\'s document columns and progress with the next transition, through pass-through stages', async () => {
    const job = await claimedAt('parsed');
    const outcome = await runner([
      handler('parsed', async () => ({ type: 'advance', document: { parsedSha256: 'a'.repeat(64) }, progress: { pages: 3 } }), true),
      handler('chunking', async (ctx) => {
        expect(ctx.document.parsedSha256).toBe('a'.repeat(64));
        return { type: 'advance', progress: { chunks_total: 2 } };
      }),
      handler('embedding_in_progress', async () => {
        throw new PermanentError('stop here', { code: 'test_stop' });
      }),
    ]).run(job, new AbortController().signal, new AbortController().signal);

    expect(outcome).toBe('deadletter');
    const [doc] = (await ds.query(`SELECT parsed_sha256 FROM upload_pipeline.documents WHERE document_id = $1`, [job.documentId])) as {
      parsed_sha256: string;
    }[];
    expect(doc.parsed_sha256).toBe('a'.repeat(64));
    const [{ progress }] = (await ds.query(`SELECT progress FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [job.jobId])) as {
      progress: Record<string, unknown>;
    }[];
    expect(progress).toMatchObject({ pages: 3, chunks_total: 2 });
    expect(brief(await eventsAfterClaim(job.jobId))).toEqual([
      'stage_done parsed/working -> parse_validated/working',
      'stage_done parse_validated/working -> chunking/working',
      'stage_done chunking/working -> chunks_stored/working',
      'stage_done chunks_stored/working -> embedding_queued/working',
      'stage_done embedding_queued/working -> embedding_in_progress/working',
      'error embedding_in_progress/working -> embedding_in_progress/deadletter',
    ]);
  });

  it('does not defer into a stage this worker does not go on with: a stage that leads to waiting commits at once', async () => {
    const job = await claimedAt('parse_queued');
    // parse_queued -> parsing/waiting: nothing follows in this claim, so the flag changes nothing
    const outcome = await runner([
      handler('parse_queued', async () => ({ type: 'advance', nextAttemptAt: new Date(Date.now() + 60_000) }), true),
      // a handler for the next stage exists: only the job's state there (waiting, not this worker's) stops the deferral
      handler('parsing', async () => {
        throw new Error('parsing must not run in this claim');
      }),
    ]).run(job, new AbortController().signal, new AbortController().signal);
    expect(outcome).toBe('waiting');
    expect(await jobRow(job.jobId)).toMatchObject({ stage: 'parsing', state: 'waiting' });
  });
  describe("the parser's webhook against the worker's move to parsing/waiting: no wake-up is lost", () => {
    const webhookFor = async (jobId: string, parserJobId: string) => {
      const [{ webhook_secret: secret }] = (await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [
        jobId,
      ])) as { webhook_secret: string }[];
      const raw = Buffer.from(JSON.stringify({ id: parserJobId, status: 'SUCCESS' }));
      return () => new ParserWebhookService(ds, transitions).handle(jobId, raw, signWebhook(secret, raw), 'req-test');
    };

    it('a webhook that lands while the worker submits the parse is only logged; the worker wakes the job right after its move', async () => {
      const job = await claimedAt('parse_queued');
      const deliver = await webhookFor(job.jobId, 'parse-early');
      const answers: unknown[] = [];
      const outcome = await runner([
        handler('parse_queued', async () => {
          answers.push(await deliver()); // the parser called back before the submission's answer came
          return { type: 'advance', parserJobId: 'parse-early', nextAttemptAt: new Date(Date.now() + 60_000) };
        }),
      ]).run(job, new AbortController().signal, new AbortController().signal);

      expect(outcome).toBe('waiting');
      expect(answers).toEqual([{ status: 'accepted', woke: false }]);
      expect(await jobRow(job.jobId)).toMatchObject({ stage: 'parsing', state: 'queued', parser_job_id: 'parse-early' });
      const wakes = (await ds.query(
        `SELECT actor FROM upload_pipeline.events WHERE job_id = $1 AND from_stage = 'parsing' AND from_state = 'waiting' AND to_state = 'queued'`,
        [job.jobId],
      )) as { actor: string }[];
      expect(wakes).toEqual([{ actor: 'worker' }]);
    });

    it('a webhook while that move is still uncommitted neither waits for it nor gets lost', async () => {
      const job = await claimedAt('parse_queued');
      const deliver = await webhookFor(job.jobId, 'parse-race');
      // the worker's move, in a transaction held open
      const qr = ds.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction();
        const moved = await transitions.apply(
          job.jobId,
          { stage: 'parse_queued', state: 'working' },
          { type: 'advance', chain: true },
          { workerId: WORKER, parserJobId: 'parse-race', nextAttemptAt: new Date(Date.now() + 60_000) },
          qr.manager,
        );
        expect(moved?.to).toEqual({ stage: 'parsing', state: 'waiting' });
        // the webhook does not block on the worker's row lock (the old single transaction did), and cannot wake
        // a job it does not see waiting yet
        const answer = await Promise.race([deliver(), sleep(3_000).then(() => 'blocked on the worker\'s transaction')]);
        expect(answer).toEqual({ status: 'accepted', woke: false });
        await qr.commitTransaction();
      } finally {
        await qr.release();
      }
      // the worker's look for an early webhook, right after its move, finds the row: the log committed first
      const seen = (await ds.query(`SELECT 1 FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = 'parse-race'`, [job.jobId])) as unknown[];
      expect(seen).toHaveLength(1);
    });
  });
});
