import { randomUUID } from 'node:crypto';
import { embedderRequestsReceived, parserStatusChecks, setFaults, Stack, startStack, until, uploadDocument, waitForJobs } from './stack';

const doc = (i: number | string) =>
  Buffer.from(`# Document ${i}\n\nThis is document number ${i} about ${randomUUID()}.\n\n## Part two\n\nMore words for the chunker.\n`);

describe('pipeline resilience on the real stack', () => {
  describe('two workers, 200 jobs', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ workers: 2, workerEnv: { WORKER_CONCURRENCY: '8' } });
    });
    afterAll(async () => {
      await stack?.close();
    });

    it('complete every job, never working one job twice', async () => {
      const token = stack.token();
      const ids: string[] = [];
      for (let i = 0; i < 200; i += 20) {
        ids.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => uploadDocument(stack, token, `d${i + k}.md`, 'text/markdown', doc(i + k))))).map((u) => u.jobId));
      }
      const rows = await waitForJobs(stack, ids, 120_000);
      expect(rows.filter((r) => r.state === 'done')).toHaveLength(200);

      // every stage finished exactly once per job: no double processing slipped through
      const dup = await stack.sql(
        `SELECT job_id, from_stage, from_state, stage, count(*) FROM upload_pipeline.events
         WHERE job_id = ANY($1::uuid[]) AND event_type IN ('stage_done', 'finalized')
         GROUP BY job_id, from_stage, from_state, stage HAVING count(*) > 1`,
        [ids],
      );
      expect(dup).toEqual([]);
      // both workers took part
      const actors = await stack.sql<{ actor: string }>(
        `SELECT DISTINCT actor FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) AND event_type = 'stage_started' AND actor LIKE 'test-worker-%'`,
        [ids],
      );
      expect(actors.map((a) => a.actor).sort()).toEqual(['test-worker-1', 'test-worker-2']);
      const [{ n, distinct }] = await stack.sql<{ n: string; distinct: string }>(
        `SELECT count(*) AS n, count(DISTINCT chunk_id) AS distinct FROM upload_pipeline.document_chunks c
         JOIN upload_pipeline.upload_jobs j USING (document_id) WHERE j.job_id = ANY($1::uuid[])`,
        [ids],
      );
      expect(n).toBe(distinct);
      const [{ leftover }] = await stack.sql<{ leftover: string }>(`SELECT count(*) AS leftover FROM upload_pipeline.document_chunk_buffer`);
      expect(Number(leftover)).toBe(0);
    });
  });

  describe('faults', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ workers: 0 });
    });
    afterAll(async () => {
      await stack?.close();
    });
    afterEach(async () => {
      await setFaults(stack.embedder, { latencyMs: 0, errorRate: 0 });
      await setFaults(stack.parser, { latencyMs: 0, errorRate: 0, dropWebhookRate: 0 });
      for (const w of stack.workers.splice(0)) await w.stop('SIGKILL');
    });

    it("a killed worker's job is finished by another after its lease expires", async () => {
      const a = await stack.startWorker({ LEASE_MS: '2000', LEASE_RENEW_MS: '500' });
      await setFaults(stack.embedder, { latencyMs: 4000 });
      const embeds = await embedderRequestsReceived(stack.embedder);
      const { jobId } = await uploadDocument(stack, stack.token(), 'killed.md', 'text/markdown', doc('killed'));
      // inside the embedding call: the job's row still says parsing (every transition since waits for finalize's statement)
      await until('the job in worker A at embedding', async () => {
        const [r] = await stack.sql<{ stage: string; state: string; claimed_by: string }>(
          `SELECT stage, state, claimed_by FROM upload_pipeline.upload_jobs WHERE job_id = $1`,
          [jobId],
        );
        return r.state === 'working' && r.claimed_by === 'test-worker-1' && (await embedderRequestsReceived(stack.embedder)) > embeds;
      });
      await a.stop('SIGKILL');
      await setFaults(stack.embedder, { latencyMs: 0 });
      await stack.startWorker({ LEASE_MS: '2000', LEASE_RENEW_MS: '500' });
      const [row] = await waitForJobs(stack, [jobId], 30_000);
      expect(row).toMatchObject({ stage: 'complete', state: 'done' });
      const reclaim = await stack.sql<{ actor: string; from_state: string; stage: string }>(
        `SELECT actor, from_state, stage FROM upload_pipeline.events WHERE job_id = $1 AND event_type = 'stage_started' ORDER BY event_id`,
        [jobId],
      );
      // taken over where the killed worker's last commit left it, and done from there
      expect(reclaim.at(-1)).toEqual({ actor: 'test-worker-2', from_state: 'working', stage: 'parsing' });
      const [{ n, distinct }] = await stack.sql<{ n: string; distinct: string }>(
        `SELECT count(*) AS n, count(DISTINCT chunk_id) AS distinct FROM upload_pipeline.document_chunks c
         JOIN upload_pipeline.upload_jobs j USING (document_id) WHERE j.job_id = $1`,
        [jobId],
      );
      expect(Number(n)).toBeGreaterThan(0);
      expect(n).toBe(distinct);
    });

    it('a 5xx burst at the embedder opens the breaker and the jobs still complete', async () => {
      const w = await stack.startWorker({ BREAKER_THRESHOLD: '3', BREAKER_HALF_OPEN_MS: '300', CALL_MAX_ATTEMPTS: '2', JOB_MAX_ATTEMPTS: '20' });
      await setFaults(stack.embedder, { errorRate: 1 });
      const token = stack.token();
      const ids = (await Promise.all([1, 2, 3, 4].map((i) => uploadDocument(stack, token, `burst${i}.md`, 'text/markdown', doc(`burst${i}`))))).map((u) => u.jobId);
      const open = await until('the breaker to open', async () => {
        const r = await fetch(`${w.url}/health/ready`);
        const body = await r.text();
        return r.status === 503 && /"embedder":\{"state":"open"/.test(body) ? body : null;
      });
      expect(open).toBeTruthy();
      await setFaults(stack.embedder, { errorRate: 0 });
      const rows = await waitForJobs(stack, ids, 60_000);
      expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'done', 'done']);
      const retries = await stack.sql<{ code: string }>(
        `SELECT detail->>'code' AS code FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) AND event_type = 'retry'`,
        [ids],
      );
      expect(retries.length).toBeGreaterThan(0);
      expect(retries.map((r) => r.code)).toEqual(expect.arrayContaining(['breaker_open']));
      await until('ready again', async () => (await fetch(`${w.url}/health/ready`)).status === 200);
    });

    it('a dropped webhook is recovered by polling the parser', async () => {
      await stack.startWorker({ WEBHOOK_TIMEOUT_MS: '1000' });
      await setFaults(stack.parser, { dropWebhookRate: 1 });
      const statusChecks = await parserStatusChecks(stack.parser);
      const { jobId } = await uploadDocument(stack, stack.token(), 'nohook.md', 'text/markdown', doc('nohook'));
      const [row] = await waitForJobs(stack, [jobId], 30_000);
      expect(row).toMatchObject({ stage: 'complete', state: 'done' });
      const hooks = await stack.sql(`SELECT 1 FROM upload_pipeline.webhook_log WHERE job_id = $1`, [jobId]);
      expect(hooks).toEqual([]);
      // with no webhook, the parser's status answer said it was done
      expect(await parserStatusChecks(stack.parser)).toBeGreaterThan(statusChecks);
    });

    it('a job claimed ahead of a free slot is leased, and goes back at once on SIGTERM while the running job finishes', async () => {
      const a = await stack.startWorker({ WORKER_CONCURRENCY: '1', WORKER_PREFETCH: '1', SHUTDOWN_GRACE_MS: '20000' });
      // long enough that the running job is still inside its embedding call when the worker is stopped (it finishes it
      // within the grace period): the job given back is then the one claimed ahead, not one the slot went on to
      await setFaults(stack.embedder, { latencyMs: 8000 });
      const embeds = await embedderRequestsReceived(stack.embedder);
      const token = stack.token();
      const ids: string[] = [];
      for (const name of ['ahead-1', 'ahead-2', 'ahead-3']) ids.push((await uploadDocument(stack, token, `${name}.md`, 'text/markdown', doc(name))).jobId);
      // one job embedding in the only slot (the embedder has its request), a second one claimed ahead by the same worker
      const held = await until('one job running and one claimed ahead', async () => {
        const rows = await stack.sql<{ job_id: string; stage: string; claimed_by: string }>(
          `SELECT job_id, stage, claimed_by FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[]) AND state = 'working'`,
          [ids],
        );
        if (rows.length !== 2 || rows[0].claimed_by !== rows[1].claimed_by) return null;
        const loop = ((await (await fetch(`${a.url}/health/ready`)).json()) as { info: { worker_loop: Record<string, unknown> } }).info.worker_loop;
        return loop['queued'] === 1 && (await embedderRequestsReceived(stack.embedder)) > embeds ? { rows, loop } : null;
      });
      expect(held.loop).toMatchObject({ in_flight: 2, queued: 1, concurrency: 1, prefetch: 1 });

      const stopped = a.stop('SIGTERM');
      // the job claimed ahead is given back without waiting for the grace period, and without any work done on it
      const back = await until('the job claimed ahead given back', async () => {
        const rows = await stack.sql<{ job_id: string; state: string; claimed_by: string | null; stage: string }>(
          `SELECT job_id, stage, state, claimed_by FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
          [held.rows.map((r) => r.job_id)],
        );
        return rows.find((r) => r.claimed_by === null) ?? null;
      }, 2_000, 20);
      const ahead = held.rows.find((r) => r.job_id === back.job_id);
      const running = held.rows.find((r) => r !== ahead);
      if (!ahead || !running) throw new Error(`the job given back (${back.job_id}) is not one of the two claimed`);
      expect(back.stage).toBe(ahead.stage);
      expect(['queued', 'waiting']).toContain(back.state);
      const after = await stack.sql<{ event_type: string }>(
        `SELECT event_type FROM upload_pipeline.events WHERE job_id = $1 AND event_id > (
           SELECT max(event_id) FROM upload_pipeline.events WHERE job_id = $1 AND event_type = 'stage_started')
         ORDER BY event_id`,
        [ahead.job_id],
      );
      expect(after.map((e) => e.event_type)).toEqual(['retry']);
      // the running job finished within the grace period, then the worker exited cleanly
      expect(await stopped).toBe(0);
      const [finished] = await stack.sql<{ state: string }>(`SELECT state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [running.job_id]);
      expect(finished.state).toBe('done');

      await setFaults(stack.embedder, { latencyMs: 0 });
      await stack.startWorker();
      const rows = await waitForJobs(stack, ids, 30_000);
      expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'done']);
    });

    it('a worker given SIGTERM mid-run exits 0 and its job finishes on another worker', async () => {
      const a = await stack.startWorker({ SHUTDOWN_GRACE_MS: '300' });
      await setFaults(stack.embedder, { latencyMs: 3000 });
      const embeds = await embedderRequestsReceived(stack.embedder);
      const { jobId } = await uploadDocument(stack, stack.token(), 'sigterm.md', 'text/markdown', doc('sigterm'));
      await until('the job at embedding in worker A', async () => {
        const [r] = await stack.sql<{ stage: string; state: string }>(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId]);
        return r.state === 'working' && (await embedderRequestsReceived(stack.embedder)) > embeds;
      });
      const code = await a.stop('SIGTERM');
      expect(code).toBe(0);
      // released where it was interrupted, with the stages before it committed and its chunks in the buffer
      const [released] = await stack.sql<{ stage: string; state: string; claimed_by: string | null; buffered: number }>(
        `SELECT stage, state, claimed_by,
                (SELECT count(*)::int FROM upload_pipeline.document_chunk_buffer b WHERE b.document_id = j.document_id) AS buffered
         FROM upload_pipeline.upload_jobs j WHERE job_id = $1`,
        [jobId],
      );
      expect(released).toMatchObject({ stage: 'embedding_in_progress', state: 'queued', claimed_by: null });
      expect(released.buffered).toBeGreaterThan(0);
      await setFaults(stack.embedder, { latencyMs: 0 });
      await stack.startWorker();
      const [row] = await waitForJobs(stack, [jobId], 30_000);
      expect(row).toMatchObject({ stage: 'complete', state: 'done' });
    });
  });
});
