import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { signWebhook } from '@app/jobs';
import { ApiHarness, pathOf, sha256, startApi, tinyPdf } from './api-harness';

describe('api: parser webhook (e2e)', () => {
  let h: ApiHarness;
  let http: App;
  let ds: DataSource;
  let jobId: string;
  let secret: string;

  beforeAll(async () => {
    h = await startApi();
    http = h.app.getHttpServer() as App;
    ds = h.app.get(DataSource);
    const token = h.token(randomUUID());
    const pdf = tinyPdf('webhook');
    const up = await request(http)
      .post('/api/v2/upload')
      .set('Authorization', `Bearer ${token}`)
      .send({ filename: 'w.pdf', bytes_len: pdf.length, mime: 'application/pdf', sha256: sha256(pdf) })
      .expect(201);
    await request(http).put(pathOf(up.body.signed_url)).set('Content-Type', 'application/pdf').send(pdf).expect(200);
    jobId = up.body.job_id;
    // put the job where a submitted parse waits for its webhook
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'p-1',
       next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
      [jobId],
    );
    secret = (await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId]))[0].webhook_secret;
  });
  afterAll(async () => {
    await h?.close();
  });

  const body = Buffer.from(JSON.stringify({ id: 'p-1', status: 'SUCCESS', event: 'parse.success', job_metadata: { job_pages: 1 } }));
  const post = (id: string, b: Buffer, sig?: string) => {
    const r = request(http).post(`/webhooks/llamaparse/${id}`).set('Content-Type', 'application/json');
    if (sig !== undefined) r.set('X-Webhook-Signature', sig);
    return r.send(b.toString('utf8')); // a string: superagent would JSON-encode a Buffer
  };
  const state = async () => (await ds.query(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId]))[0];

  it('refuses an unsigned webhook with 401', async () => {
    const r = await post(jobId, body).expect(401);
    expect(r.body.error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await state()).toEqual({ stage: 'parsing', state: 'waiting' });
  });

  it('refuses a wrong signature, another job secret, a malformed header and an unknown job with 401', async () => {
    await post(jobId, body, signWebhook('not-the-secret', body)).expect(401);
    await post(jobId, body, signWebhook(secret, Buffer.concat([body, Buffer.from(' ')]))).expect(401);
    await post(jobId, body, signWebhook(secret, body).replace('sha256=', 'sha1=')).expect(401);
    await post(jobId, body, 'garbage').expect(401);
    await post(randomUUID(), body, signWebhook(secret, body)).expect(401);
    await post('not-a-uuid', body, signWebhook(secret, body)).expect(401);
    expect(await state()).toEqual({ stage: 'parsing', state: 'waiting' });
  });

  it('accepts a correctly signed webhook and wakes the job', async () => {
    const r = await post(jobId, body, signWebhook(secret, body)).expect(200);
    expect(r.body).toEqual({ status: 'accepted', woke: true });
    expect(await state()).toEqual({ stage: 'parsing', state: 'queued' });
  });

  it('answers a replay 200 and changes nothing', async () => {
    const r = await post(jobId, body, signWebhook(secret, body)).expect(200);
    expect(r.body).toEqual({ status: 'duplicate' });
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.webhook_log WHERE job_id = $1`, [jobId]);
    expect(n).toBe(1);
    expect(await state()).toEqual({ stage: 'parsing', state: 'queued' });
  });

  it('regression: a replay wakes a job whose first delivery was logged but not woken (the api died between the two)', async () => {
    // the first delivery's log row committed, then the process died before its wake-up: the job still waits
    const lost = Buffer.from(JSON.stringify({ id: 'p-2', status: 'SUCCESS', event: 'parse.success' }));
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'p-2', claimed_by = NULL
       WHERE job_id = $1`,
      [jobId],
    );
    await ds.query(
      `INSERT INTO upload_pipeline.webhook_log (job_id, source, body_sha256, parser_job_id, status) VALUES ($1, 'llamaparse', $2, 'p-2', 'SUCCESS')`,
      [jobId, sha256(lost)],
    );
    // the parser, having had no 2xx, delivers again: still a duplicate, and the job wakes up
    const r = await post(jobId, lost, signWebhook(secret, lost)).expect(200);
    expect(r.body).toEqual({ status: 'duplicate' });
    expect(await state()).toEqual({ stage: 'parsing', state: 'queued' });
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = 'p-2'`, [jobId]);
    expect(n).toBe(1);
  });

  it('a webhook that arrives while the worker still holds the job is logged, and wakes nothing', async () => {
    const early = Buffer.from(JSON.stringify({ id: 'p-3', status: 'SUCCESS' }));
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parse_queued', state = 'working', parser_job_id = 'p-3', claimed_by = 'w',
       lease_expires_at = now() + interval '1 minute' WHERE job_id = $1`,
      [jobId],
    );
    const r = await post(jobId, early, signWebhook(secret, early)).expect(200);
    expect(r.body).toEqual({ status: 'accepted', woke: false });
    expect(await state()).toEqual({ stage: 'parse_queued', state: 'working' });
    const logged = await ds.query(`SELECT status FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = 'p-3'`, [jobId]);
    expect(logged).toEqual([{ status: 'SUCCESS' }]);
    // put back where the next test expects it
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'queued', parser_job_id = 'p-1', claimed_by = NULL, lease_expires_at = NULL
       WHERE job_id = $1`,
      [jobId],
    );
  });

  it('ignores a signed webhook for a parse the job does not wait for', async () => {
    const other = Buffer.from(JSON.stringify({ id: 'p-other', status: 'SUCCESS' }));
    const r = await post(jobId, other, signWebhook(secret, other)).expect(200);
    expect(r.body).toMatchObject({ status: 'ignored' });
  });
});
