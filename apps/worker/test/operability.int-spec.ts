import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { metricValue, Stack, startStack, until, uploadDocument, waitForJobs } from './stack';

describe('operability on the real stack: health, metrics, logs', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ dbProxy: true, workerEnv: { LOG_LEVEL: 'info' }, apiEnv: { LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('every app answers live and ready with 200', async () => {
    for (const app of [stack.api, stack.parser, stack.embedder, ...stack.workers]) {
      expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    }
  });

  it('/metrics shows the counters moving after a document completes', async () => {
    const before = await (await fetch(`${stack.workers[0].url}/metrics`)).text();
    const finalizedBefore = metricValue(before, 'ingest_transitions_total', { stage: 'complete', event: 'finalized' }) || 0;
    const { jobId } = await uploadDocument(stack, stack.token(), 'metrics.md', 'text/markdown', Buffer.from(`# Metrics\n\nCounting ${randomUUID()}.\n`));
    const [row] = await waitForJobs(stack, [jobId]);
    expect(row.state).toBe('done');

    const after = await (await fetch(`${stack.workers[0].url}/metrics`)).text();
    expect(metricValue(after, 'ingest_transitions_total', { stage: 'complete', event: 'finalized' })).toBe(finalizedBefore + 1);
    expect(metricValue(after, 'ingest_embedding_tokens_total')).toBeGreaterThan(0);
    // unfinished jobs only: a finished one is counted by ingest_transitions_total{event="finalized"}
    expect(metricValue(after, 'ingest_jobs', { state: 'done' })).toBeNaN();
    expect(metricValue(after, 'ingest_breaker_state', { service: 'embedder' })).toBe(0);
    expect(metricValue(after, 'ingest_stage_duration_seconds_count', { stage: 'chunking' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(after, 'ingest_stage_pickup_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(after).not.toContain(jobId); // no job ids as labels

    const api = await (await fetch(`${stack.api.url}/metrics`)).text();
    expect(metricValue(api, 'http_request_duration_seconds_count', { route: '/api/v2/upload', method: 'POST', status_code: '201' })).toBeGreaterThanOrEqual(1);
    expect(api).not.toContain(jobId);
    for (const mock of [stack.parser, stack.embedder]) {
      const r = await fetch(`${mock.url}/metrics`);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('process_cpu');
    }
  });

  it('logs are JSON with the job correlation id, and no token, secret or signed URL', async () => {
    const token = stack.token();
    const { jobId } = await uploadDocument(stack, token, 'logs.md', 'text/markdown', Buffer.from(`# Logs\n\nLogging ${randomUUID()}.\n`));
    await waitForJobs(stack, [jobId]);
    const [{ correlation_id: correlationId, webhook_secret: secret }] = await stack.sql<{ correlation_id: string; webhook_secret: string }>(
      `SELECT correlation_id, webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`,
      [jobId],
    );
    await new Promise((r) => setTimeout(r, 300)); // let the processes flush their logs
    const logs = Object.fromEntries(readdirSync(stack.logDir).map((f) => [f, readFileSync(join(stack.logDir, f), 'utf8')]));
    const workerLines = logs['worker-1.log'].split('\n').filter((l) => l.startsWith('{'));
    expect(workerLines.length).toBeGreaterThan(0);
    for (const l of workerLines) expect(() => JSON.parse(l)).not.toThrow();
    const apiLines = logs['api.log'].split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(apiLines.some((l) => l['correlation_id'] === correlationId)).toBe(true);
    const all = Object.values(logs).join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(secret);
    expect(all).not.toMatch(/[?&]sig=[0-9a-f]{16}/);
  });

  it('without the database every app with one goes 503 naming it, live stays 200, and all recover', async () => {
    const withDb = [stack.api, ...stack.workers];
    await stack.dbProxy?.stop();
    try {
      for (const app of withDb) {
        const body = await until(`${app.name} ready 503`, async () => {
          const r = await fetch(`${app.url}/health/ready`);
          return r.status === 503 ? r.text() : null;
        });
        expect(body).toContain('database');
        expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
      }
    } finally {
      await stack.dbProxy?.start();
    }
    for (const app of withDb) await until(`${app.name} ready again`, async () => (await fetch(`${app.url}/health/ready`)).status === 200);
    // and they work again: a new document goes all the way through
    const { jobId } = await uploadDocument(stack, stack.token(), 'after.md', 'text/markdown', Buffer.from(`# After\n\nBack ${randomUUID()}.\n`));
    const [row] = await waitForJobs(stack, [jobId]);
    expect(row).toMatchObject({ stage: 'complete', state: 'done' });
  });
});
