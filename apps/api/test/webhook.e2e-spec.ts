import { createHmac, randomUUID } from 'node:crypto';
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
    await request(http)
      .put(pathOf(up.body.signed_url))
      .set('Content-Type', 'application/pdf')
      .send(pdf)
      .expect(200);
    jobId = up.body.job_id;
    // put the job where a submitted parse waits for its webhook
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'p-1',
       next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
      [jobId],
    );
    secret = (
      await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])
    )[0].webhook_secret;
  });
  afterAll(async () => {
    await h?.close();
  });

  const body = Buffer.from(
    JSON.stringify({ id: 'p-1', status: 'SUCCESS', event: 'parse.success', job_metadata: { job_pages: 1 } }),
  );
  const post = (id: string, b: Buffer, sig?: string) => {
    const r = request(http).post(`/webhooks/llamaparse/${id}`).set('Content-Type', 'application/json');
    if (sig !== undefined) r.set('X-Webhook-Signature', sig);
    return r.send(b.toString('utf8')); // a string: superagent would JSON-encode a Buffer
  };
  const state = async () =>
    (await ds.query(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId]))[0];

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
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM upload_pipeline.webhook_log WHERE job_id = $1`,
      [jobId],
    );
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
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = 'p-2'`,
      [jobId],
    );
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
    const logged = await ds.query(
      `SELECT status FROM upload_pipeline.webhook_log WHERE job_id = $1 AND parser_job_id = 'p-3'`,
      [jobId],
    );
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

  describe('LlamaParse v2 deliveries (LC-Signature)', () => {
    /** A job waiting at parsing for the parse `parserJobId`, and its secret. */
    const waitingJob = async (parserJobId: string): Promise<{ id: string; secret: string }> => {
      const token = h.token(randomUUID());
      const pdf = tinyPdf(`webhook v2 ${parserJobId}`);
      const up = await request(http)
        .post('/api/v2/upload')
        .set('Authorization', `Bearer ${token}`)
        .send({ filename: 'v2.pdf', bytes_len: pdf.length, mime: 'application/pdf', sha256: sha256(pdf) })
        .expect(201);
      await request(http)
        .put(pathOf(up.body.signed_url))
        .set('Content-Type', 'application/pdf')
        .send(pdf)
        .expect(200);
      const id = up.body.job_id as string;
      await ds.query(
        `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = $2,
         next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
        [id, parserJobId],
      );
      const [{ webhook_secret }] = await ds.query(
        `SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`,
        [id],
      );
      return { id, secret: webhook_secret as string };
    };
    /** The body as mock-llamaparse (and LlamaCloud) sends it: `{event_id, event_type, timestamp, data}`. */
    const v2Payload = (parserJobId: string, status = 'COMPLETED') => ({
      event_id: randomUUID(),
      event_type: status === 'COMPLETED' ? 'parse.success' : 'parse.error',
      timestamp: new Date().toISOString(),
      data: {
        job_id: parserJobId,
        status,
        tier: 'cost_effective',
        version: 'latest',
        project_id: 'p',
        pages: 1,
      },
    });
    /** `LC-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, as the mock's webhook sender signs. */
    const lcSign = (key: string, raw: string) =>
      `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;
    const postV2 = (id: string, raw: string, headers: Record<string, string>) => {
      const r = request(http).post(`/webhooks/llamaparse/${id}`).set('Content-Type', 'application/json');
      for (const [k, v] of Object.entries(headers)) r.set(k, v);
      return r.send(raw);
    };
    const jobState = async (id: string) =>
      (await ds.query(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [id]))[0];
    const logged = (id: string) =>
      ds.query(
        `SELECT parser_job_id, status FROM upload_pipeline.webhook_log WHERE job_id = $1 ORDER BY id`,
        [id],
      );

    it('accepts a json delivery signed LC-Signature, logs the parse and its status, and wakes the job; a replay is an idempotent 200', async () => {
      const job = await waitingJob('v2-json');
      const raw = JSON.stringify(v2Payload('v2-json'));
      const r = await postV2(job.id, raw, { 'LC-Signature': lcSign(job.secret, raw) }).expect(200);
      expect(r.body).toEqual({ status: 'accepted', woke: true });
      expect(await jobState(job.id)).toEqual({ stage: 'parsing', state: 'queued' });
      expect(await logged(job.id)).toEqual([{ parser_job_id: 'v2-json', status: 'COMPLETED' }]);

      const again = await postV2(job.id, raw, { 'LC-Signature': lcSign(job.secret, raw) }).expect(200);
      expect(again.body).toEqual({ status: 'duplicate' });
      expect(await logged(job.id)).toHaveLength(1);
    });

    it('accepts the default `string` output format: the payload JSON-encoded as a JSON string, signed over those bytes', async () => {
      const job = await waitingJob('v2-string');
      const raw = JSON.stringify(JSON.stringify(v2Payload('v2-string', 'FAILED')));
      const r = await postV2(job.id, raw, { 'LC-Signature': lcSign(job.secret, raw) }).expect(200);
      expect(r.body).toEqual({ status: 'accepted', woke: true });
      expect(await logged(job.id)).toEqual([{ parser_job_id: 'v2-string', status: 'FAILED' }]);
    });

    it('refuses a wrong, malformed, misplaced or missing signature with 401 and changes nothing', async () => {
      const job = await waitingJob('v2-bad');
      const raw = JSON.stringify(v2Payload('v2-bad'));
      const good = lcSign(job.secret, raw);
      const cases: Record<string, string>[] = [
        { 'LC-Signature': lcSign(`${job.secret}x`, raw) },
        { 'LC-Signature': lcSign(job.secret, `${raw} `) },
        { 'LC-Signature': good.slice('sha256='.length) },
        { 'LC-Signature': good.replace('sha256=', 'sha1=') },
        { 'LC-Signature': 'garbage', 'X-Webhook-Signature': good },
        { 'X-Signature': good },
        {},
      ];
      for (const headers of cases) {
        const r = await postV2(job.id, raw, headers).expect(401);
        expect(r.body.error).toMatchObject({ status: 401, code: 'unauthorized' });
      }
      await postV2(randomUUID(), raw, { 'LC-Signature': good }).expect(401);
      expect(await jobState(job.id)).toEqual({ stage: 'parsing', state: 'waiting' });
      expect(await logged(job.id)).toEqual([]);
    });

    it('ignores a signed delivery whose data.job_id is not the parse the job waits for', async () => {
      const job = await waitingJob('v2-mine');
      const raw = JSON.stringify(v2Payload('v2-someone-else'));
      const r = await postV2(job.id, raw, { 'LC-Signature': lcSign(job.secret, raw) }).expect(200);
      expect(r.body).toMatchObject({ status: 'ignored' });
      expect(await jobState(job.id)).toEqual({ stage: 'parsing', state: 'waiting' });
    });
  });
});

describe('api: unsigned v1 webhooks with WEBHOOK_ACCEPT_UNSIGNED (e2e)', () => {
  let h: ApiHarness;
  let http: App;
  let ds: DataSource;
  let jobId: string;
  let secret: string;

  beforeAll(async () => {
    h = await startApi({ WEBHOOK_ACCEPT_UNSIGNED: 'true' });
    http = h.app.getHttpServer() as App;
    ds = h.app.get(DataSource);
    const pdf = tinyPdf('unsigned webhook');
    const up = await request(http)
      .post('/api/v2/upload')
      .set('Authorization', `Bearer ${h.token(randomUUID())}`)
      .send({ filename: 'u.pdf', bytes_len: pdf.length, mime: 'application/pdf', sha256: sha256(pdf) })
      .expect(201);
    await request(http)
      .put(pathOf(up.body.signed_url))
      .set('Content-Type', 'application/pdf')
      .send(pdf)
      .expect(200);
    jobId = up.body.job_id;
    await ds.query(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'parsing', state = 'waiting', parser_job_id = 'p-u',
       next_attempt_at = now() + interval '1 minute' WHERE job_id = $1`,
      [jobId],
    );
    secret = (
      await ds.query(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId])
    )[0].webhook_secret;
  });
  afterAll(async () => {
    await h?.close();
  });

  const state = async () =>
    (await ds.query(`SELECT stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId]))[0];
  const logged = async () =>
    (
      await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.webhook_log WHERE job_id = $1`, [jobId])
    )[0].n;
  const body = JSON.stringify({ id: 'p-u', status: 'SUCCESS' });

  it('still refuses a wrong signature with 401 and changes nothing', async () => {
    await request(http)
      .post(`/webhooks/llamaparse/${jobId}`)
      .set('Content-Type', 'application/json')
      .set('X-Webhook-Signature', signWebhook('not-it', Buffer.from(body)))
      .send(body)
      .expect(401);
    await request(http)
      .post(`/webhooks/llamaparse/${jobId}`)
      .set('Content-Type', 'application/json')
      .set('LC-Signature', 'sha256=00')
      .send(body)
      .expect(401);
    expect(await state()).toEqual({ stage: 'parsing', state: 'waiting' });
  });

  it('takes an unsigned delivery as a hint (202): wakes the job to ask the parser, logs nothing of the body', async () => {
    const r = await request(http)
      .post(`/webhooks/llamaparse/${jobId}`)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(202);
    expect(r.body).toEqual({ status: 'unverified', woke: true });
    expect(await state()).toEqual({ stage: 'parsing', state: 'queued' });
    // no verified status for the claim to trust: the worker asks the parser
    expect(await logged()).toBe(0);
    const [event] = await ds.query(
      `SELECT actor, detail FROM upload_pipeline.events WHERE job_id = $1 AND to_state = 'queued' ORDER BY event_id DESC LIMIT 1`,
      [jobId],
    );
    expect(event).toMatchObject({ actor: 'webhook', detail: { unsigned: true } });
  });

  it('an unsigned delivery for a job not waiting, or an unknown one, changes nothing and says only that', async () => {
    await request(http)
      .post(`/webhooks/llamaparse/${jobId}`)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(202, { status: 'unverified', woke: false });
    await request(http)
      .post(`/webhooks/llamaparse/${randomUUID()}`)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(202, { status: 'unverified', woke: false });
    await request(http)
      .post(`/webhooks/llamaparse/not-a-uuid`)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(401);
    expect(await state()).toEqual({ stage: 'parsing', state: 'queued' });
  });

  it('a signed delivery is verified as before', async () => {
    await ds.query(`UPDATE upload_pipeline.upload_jobs SET state = 'waiting' WHERE job_id = $1`, [jobId]);
    const r = await request(http)
      .post(`/webhooks/llamaparse/${jobId}`)
      .set('Content-Type', 'application/json')
      .set('X-Webhook-Signature', signWebhook(secret, Buffer.from(body)))
      .send(body)
      .expect(200);
    expect(r.body).toEqual({ status: 'accepted', woke: true });
    expect(await logged()).toBe(1);
  });
});
