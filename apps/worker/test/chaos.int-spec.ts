import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkMarkdown } from '@app/chunking';
import { AppProcess, metricValue, setFaults, Stack, startStack, uploadDocument, waitForJobs } from './stack';

/**
 * Crash and fault tests on the real stack (api, worker(s), mocks as processes, PostgreSQL behind a TCP
 * proxy): workers killed with SIGKILL mid-run, the database taken away, and the outside services failing
 * a third of the time. After each, every document is checked end to end against the database and
 * against the chunker run locally on the same parsed text.
 */

const WORDS = 'ingest pipeline chunk vector lease worker parser embedder webhook retry breaker storage token document search'.split(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A markdown document of 1..5 sections, some long enough to make several chunks. */
function markdown(i: number): Buffer {
  let md = `# Chaos document ${i}\n\nId ${randomUUID()}.\n`;
  const sections = 1 + (i % 5);
  for (let s = 0; s < sections; s++) {
    const words = 40 + randomInt(900);
    md += `\n## Section ${s}\n\n${Array.from({ length: words }, (_, k) => WORDS[(k * 7 + i + s) % WORDS.length]).join(' ')}.\n`;
  }
  return Buffer.from(md);
}

async function uploadAll(stack: Stack, n: number, prefix: string): Promise<{ jobId: string; documentId: string; bytes: Buffer }[]> {
  const out: { jobId: string; documentId: string; bytes: Buffer }[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, (_, k) => ({ name: `${prefix}-${i + k}.md`, bytes: markdown(i + k) }));
    const token = stack.token(); // a user per batch: like real traffic, and inside the per-user upload limit
    const ups = await Promise.all(batch.map((b) => uploadDocument(stack, token, b.name, 'text/markdown', b.bytes)));
    out.push(...ups.map((u, k) => ({ ...u, bytes: batch[k].bytes })));
  }
  return out;
}

/**
 * Everything that must hold once documents are complete: chunk and vector counts exact and equal to the
 * chunker's output on the parsed text, ids and texts identical, no duplicates, no stuck lease, empty buffers.
 */
async function expectIntact(stack: Stack, docs: { documentId: string; bytes: Buffer }[]): Promise<void> {
  const ids = docs.map((d) => d.documentId);
  const rows = await stack.sql<{ document_id: string; chunk_count: number; parsed_path: string; n: string; with_vec: string; processing_status: string }>(
    `SELECT d.document_id, d.chunk_count, d.parsed_path, d.processing_status,
            (SELECT count(*) FROM upload_pipeline.document_chunks c WHERE c.document_id = d.document_id) AS n,
            (SELECT count(*) FROM upload_pipeline.document_chunks c WHERE c.document_id = d.document_id AND c.embedding IS NOT NULL) AS with_vec
     FROM upload_pipeline.documents d WHERE d.document_id = ANY($1::uuid[])`,
    [ids],
  );
  expect(rows).toHaveLength(docs.length);
  for (const doc of docs) {
    const row = rows.find((r) => r.document_id === doc.documentId);
    if (!row) throw new Error(`document ${doc.documentId} missing`);
    const parsed = readFileSync(join(stack.storageRoot, row.parsed_path), 'utf8');
    expect(parsed).toBe(doc.bytes.toString('utf8')); // the parser hands markdown back as it is
    const expected = chunkMarkdown(parsed, { documentId: doc.documentId, chunker: 'md-token', version: 1, maxTokens: 512, overlapTokens: 0 });
    expect({ doc: doc.documentId, status: row.processing_status, chunk_count: row.chunk_count, rows: Number(row.n), vectors: Number(row.with_vec) }).toEqual({
      doc: doc.documentId,
      status: 'complete',
      chunk_count: expected.length,
      rows: expected.length,
      vectors: expected.length,
    });
    const stored = await stack.sql<{ chunk_id: string; ord: number; text: string }>(
      `SELECT chunk_id, ord, text FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`,
      [doc.documentId],
    );
    expect(stored).toEqual(expected.map((c) => ({ chunk_id: c.chunkId, ord: c.ord, text: c.text })));
  }
  const [dups] = await stack.sql<{ dup_ids: string; dup_ords: string }>(
    `SELECT (SELECT count(*) - count(DISTINCT chunk_id) FROM upload_pipeline.document_chunks) AS dup_ids,
            (SELECT count(*) FROM (SELECT 1 FROM upload_pipeline.document_chunks GROUP BY document_id, chunker, chunker_version, ord HAVING count(*) > 1) x) AS dup_ords`,
  );
  expect({ dup_ids: Number(dups.dup_ids), dup_ords: Number(dups.dup_ords) }).toEqual({ dup_ids: 0, dup_ords: 0 });
  const [left] = await stack.sql<{ stuck: string; chunk_buf: string; vec_buf: string }>(
    `SELECT (SELECT count(*) FROM upload_pipeline.upload_jobs WHERE state = 'working' AND lease_expires_at < now()) AS stuck,
            (SELECT count(*) FROM upload_pipeline.document_chunk_buffer WHERE document_id = ANY($1::uuid[])) AS chunk_buf,
            (SELECT count(*) FROM upload_pipeline.document_vector_buffer WHERE document_id = ANY($1::uuid[])) AS vec_buf`,
    [ids],
  );
  expect({ stuck: Number(left.stuck), chunk_buf: Number(left.chunk_buf), vec_buf: Number(left.vec_buf) }).toEqual({ stuck: 0, chunk_buf: 0, vec_buf: 0 });
}

describe('chaos on the real stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 0, dbProxy: true });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(async () => {
    for (const w of stack.workers.splice(0)) await w.stop('SIGKILL');
    await setFaults(stack.embedder, { latencyMs: 0, errorRate: 0, rateLimitRate: 0, timeoutRate: 0 });
    await setFaults(stack.parser, { latencyMs: 0, errorRate: 0, rateLimitRate: 0, timeoutRate: 0, dropWebhookRate: 0 });
  });

  it('60 documents, 2 workers, 5 SIGKILLs at random moments with restarts: nothing lost, nothing twice', async () => {
    const env = { LEASE_MS: '2000', LEASE_RENEW_MS: '500', WORKER_CONCURRENCY: '6' };
    const live: AppProcess[] = [await stack.startWorker(env), await stack.startWorker(env)];
    // latency keeps documents in flight long enough for the kills to land on work in hand
    await setFaults(stack.embedder, { latencyMs: 250 });
    await setFaults(stack.parser, { latencyMs: 100 });
    const docs = await uploadAll(stack, 60, 'kill');
    const jobIds = docs.map((d) => d.jobId);

    const killed: string[] = [];
    for (let k = 0; k < 5; k++) {
      await sleep(300 + randomInt(900));
      const victim = live.splice(randomInt(live.length), 1)[0];
      await victim.stop('SIGKILL');
      killed.push(victim.name);
      live.push(await stack.startWorker(env));
    }
    await setFaults(stack.embedder, { latencyMs: 0 });
    await setFaults(stack.parser, { latencyMs: 0 });

    const rows = await waitForJobs(stack, jobIds, 90_000);
    expect(rows.filter((r) => r.state !== 'done').map((r) => `${r.job_id} ${r.stage}/${r.state} ${JSON.stringify(r.last_error)}`)).toEqual([]);
    expect(killed).toHaveLength(5);
    await expectIntact(stack, docs);

    // the kills hit work in hand: some stage was taken over from an expired lease
    const [{ takeovers }] = await stack.sql<{ takeovers: string }>(
      `SELECT count(*) AS takeovers FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) AND event_type = 'stage_started' AND from_state = 'working'`,
      [jobIds],
    );
    expect(Number(takeovers)).toBeGreaterThan(0);
    // and no stage finished twice for one job
    const twice = await stack.sql(
      `SELECT job_id, stage FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) AND event_type IN ('stage_done', 'finalized')
       GROUP BY job_id, from_stage, from_state, stage HAVING count(*) > 1`,
      [jobIds],
    );
    expect(twice).toEqual([]);
  }, 150_000);

  it('the database goes away for 2 s with 30 documents in flight: api and workers reconnect, nothing lost', async () => {
    // A job whose transition failed with the database gone stays claimed until its lease runs out: a short
    // lease keeps the recovery (and this test) quick.
    const env = { LEASE_MS: '4000', LEASE_RENEW_MS: '1000' };
    await stack.startWorker(env);
    await stack.startWorker(env);
    await setFaults(stack.embedder, { latencyMs: 200 });
    await setFaults(stack.parser, { latencyMs: 100 });
    const docs = await uploadAll(stack, 30, 'dbdown');
    const jobIds = docs.map((d) => d.jobId);
    // wait until the pipeline is busy with them (some past parsing, not all done)
    const end = Date.now() + 20_000;
    for (;;) {
      const [{ moving, done }] = await stack.sql<{ moving: string; done: string }>(
        `SELECT count(*) FILTER (WHERE stage NOT IN ('job_validated', 'parse_queued')) AS moving, count(*) FILTER (WHERE state = 'done') AS done
         FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
        [jobIds],
      );
      if (Number(moving) >= 5 && Number(done) < 30) break;
      if (Date.now() > end) throw new Error(`the documents did not get moving (${moving} moving, ${done} done)`);
      await sleep(50);
    }
    await stack.dbProxy?.stop();
    await sleep(2000);
    await stack.dbProxy?.start();
    await setFaults(stack.embedder, { latencyMs: 0 });
    await setFaults(stack.parser, { latencyMs: 0 });

    const rows = await waitForJobs(stack, jobIds, 90_000);
    expect(rows.filter((r) => r.state !== 'done').map((r) => `${r.job_id} ${r.stage}/${r.state} ${JSON.stringify(r.last_error)}`)).toEqual([]);
    await expectIntact(stack, docs);
    for (const app of [stack.api, ...stack.workers]) {
      expect(app.child.exitCode).toBeNull(); // nobody died of it
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    }
    // and the api takes new work again
    const [after] = await uploadAll(stack, 1, 'after-db');
    const [row] = await waitForJobs(stack, [after.jobId], 30_000);
    expect(row.state).toBe('done');
  }, 150_000);

  it('both outside services failing ~30% of the time: all complete, breakers open and close, only corrupt PDFs dead-letter, retry requeues', async () => {
    const env = {
      PARSER_TIMEOUT_MS: '1000',
      EMBEDDER_TIMEOUT_MS: '1000',
      WEBHOOK_TIMEOUT_MS: '1000',
      JOB_MAX_ATTEMPTS: '60',
      BREAKER_THRESHOLD: '2',
      BREAKER_HALF_OPEN_MS: '300',
      RETRY_BASE_MS: '100',
      RETRY_MAX_MS: '800',
    };
    const workers = [await stack.startWorker(env), await stack.startWorker(env)];
    await setFaults(stack.embedder, { errorRate: 0.1, rateLimitRate: 0.1, timeoutRate: 0.05, timeoutMs: 1500, retryAfterMs: 200 });
    await setFaults(stack.parser, { errorRate: 0.1, rateLimitRate: 0.1, timeoutRate: 0.05, timeoutMs: 1500, dropWebhookRate: 0.1, retryAfterSeconds: 0 });

    const docs = await uploadAll(stack, 30, 'faults');
    const token = stack.token();
    const corrupt = await Promise.all(
      ['%PDF-1.4 not really a pdf', '%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n%%EOF', '%PDF-\u0000\u0001\u0002 truncated'].map((text, i) =>
        uploadDocument(stack, token, `corrupt-${i}.pdf`, 'application/pdf', Buffer.from(text, 'latin1')),
      ),
    );
    const good = docs.map((d) => d.jobId);
    const bad = corrupt.map((c) => c.jobId);

    const rows = await waitForJobs(stack, [...good, ...bad], 100_000);
    const state = (id: string) => rows.find((r) => r.job_id === id);
    expect(good.filter((id) => state(id)?.state !== 'done').map((id) => `${id} ${JSON.stringify(state(id))}`)).toEqual([]);
    for (const id of bad) {
      expect(state(id)).toMatchObject({ stage: 'parsing', state: 'deadletter', last_error: { kind: 'permanent', code: 'parse_failed' } });
      expect(state(id)?.last_error?.message).toBeTruthy();
    }
    await expectIntact(stack, docs);

    // the faults were real: retries happened, and a breaker opened and closed again
    const [{ retries }] = await stack.sql<{ retries: string }>(
      `SELECT count(*) AS retries FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) AND event_type = 'retry'`,
      [good],
    );
    expect(Number(retries)).toBeGreaterThan(0);
    let opened = 0;
    let closed = 0;
    for (const w of workers) {
      const text = await (await fetch(`${w.url}/metrics`)).text();
      opened += (metricValue(text, 'ingest_breaker_transitions_total', { state: 'open' }) || 0);
      closed += (metricValue(text, 'ingest_breaker_transitions_total', { state: 'closed' }) || 0);
    }
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(closed).toBeGreaterThanOrEqual(1);

    // POST /api/v2/jobs/:id/retry sends a dead letter back to the queue
    await setFaults(stack.parser, { errorRate: 0, rateLimitRate: 0, timeoutRate: 0, dropWebhookRate: 0 });
    const r = await fetch(`${stack.api.url}/api/v2/jobs/${bad[0]}/retry`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const requeued = (await r.json()) as { stage: string; state: string; last_error: unknown };
    expect(requeued).toMatchObject({ job_id: bad[0], stage: 'parse_queued', last_error: null });
    expect(['queued', 'working']).toContain(requeued.state); // a worker may have claimed it already
    const [again] = await waitForJobs(stack, [bad[0]], 30_000);
    expect(again).toMatchObject({ stage: 'parsing', state: 'deadletter', last_error: { code: 'parse_failed' } });
    const resubmits = await stack.sql(`SELECT 1 FROM upload_pipeline.events WHERE job_id = $1 AND event_type = 'stage_started' AND stage = 'parsing'`, [bad[0]]);
    expect(resubmits.length).toBeGreaterThanOrEqual(2);
  }, 150_000);
});
