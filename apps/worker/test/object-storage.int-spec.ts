/**
 * Object storage end to end: the api and a worker on STORAGE_DRIVER=s3 against a real S3 wire server (s3rver, started
 * here; see startS3rver in @app/testing for what it checks). A client uploads with POST /api/v2/upload, PUTs to the presigned URL
 * with exactly `upload_headers`, and makes no other call: the worker's reconciler confirms the upload and the pipeline
 * runs. `POST /api/v2/jobs/:id/complete` and the bucket-event endpoint confirm at once; bytes other than declared and
 * an abandoned upload are dead-lettered. No wall-clock waits: each wait polls the database with a bound, and an
 * upload window is made to be over by moving upload_expires_at into the past.
 */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SAMPLE_HTML, sampleDocx, samplePdf, startS3rver, type S3TestServer } from '@app/testing';
import { JobRow, metricValue, sha256, Stack, startStack, until, waitForJobs } from './stack';

const EVENTS_TOKEN = 'storage-events-token-0123456789';

interface UploadAnswer {
  job_id: string;
  document_id: string;
  signed_url: string;
  upload_method: 'PUT';
  upload_headers: Record<string, string>;
  upload_expires_at: string;
}

describe('object storage (STORAGE_DRIVER=s3 against s3rver): upload, confirmation, expiry', () => {
  let s3: S3TestServer;
  let stack: Stack;
  const user = randomUUID();
  let token: string;
  const events: unknown[] = [];

  beforeAll(async () => {
    s3 = await startS3rver('ingest-docs');
    s3.events.on('event', (e: unknown) => events.push(e));
    const storage = {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      UPLOAD_EXPIRY_GRACE_MS: '0',
    };
    stack = await startStack({
      apiEnv: { ...storage, STORAGE_EVENTS_TOKEN: EVENTS_TOKEN },
      workerEnv: { ...storage, UPLOAD_RECONCILE_INTERVAL_MS: '200', UPLOAD_CHECK_MIN_DELAY_MS: '200', UPLOAD_CHECK_MAX_DELAY_MS: '400' },
    });
    token = stack.token(user);
  });
  afterAll(async () => {
    await stack?.close();
    await s3?.close();
  });

  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = { Authorization: `Bearer ${token}` }) =>
    fetch(`${stack.api.url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function declare(filename: string, mime: string, bytes: Buffer): Promise<UploadAnswer> {
    const r = await api('POST', '/api/v2/upload', { filename, bytes_len: bytes.length, mime, sha256: sha256(bytes) });
    expect(r.status).toBe(201);
    return (await r.json()) as UploadAnswer;
  }
  const put = (up: UploadAnswer, bytes: Buffer) => fetch(up.signed_url, { method: up.upload_method, headers: up.upload_headers, body: bytes });
  const job = async (jobId: string) =>
    (await stack.sql<JobRow>(`SELECT job_id, stage, state, retry_count, last_error FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [jobId]))[0];
  /** Keeps the reconciler off this job (its next check an hour away), so that another path is what confirms it. */
  const holdReconciler = (jobId: string) =>
    stack.sql(`UPDATE upload_pipeline.upload_jobs SET next_attempt_at = now() + interval '1 hour' WHERE job_id = $1`, [jobId]);

  const docs = [
    { name: 'report.pdf', mime: 'application/pdf', bytes: () => samplePdf() },
    { name: 'charter.docx', mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', bytes: () => sampleDocx() },
    { name: 'page.html', mime: 'text/html', bytes: () => Buffer.from(SAMPLE_HTML) },
    { name: 'notes.md', mime: 'text/markdown', bytes: () => Buffer.from(`# Notes ${randomUUID()}\n\nObject storage end to end.\n`) },
  ];

  it.each(docs.map((d) => [d.name, d] as const))(
    '%s: upload, PUT with upload_headers to the presigned URL, nothing else: the reconciler confirms and it completes',
    async (_n, d) => {
      const bytes = d.bytes();
      const up = await declare(d.name, d.mime, bytes);
      expect(new URL(up.signed_url).origin).toBe(s3.endpoint); // straight to the store
      expect(up.upload_headers).toEqual({ 'Content-Type': d.mime, 'x-amz-checksum-sha256': Buffer.from(sha256(bytes), 'hex').toString('base64') });
      expect((await put(up, bytes)).status).toBe(200);
      const [row] = await waitForJobs(stack, [up.job_id], 60_000);
      expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
      const [confirmed] = await stack.sql<{ actor: string; detail: { source: string } }>(
        `SELECT actor, detail FROM upload_pipeline.events WHERE job_id = $1 AND stage = 'job_validated' AND event_type = 'stage_done' ORDER BY event_id LIMIT 1`,
        [up.job_id],
      );
      expect(confirmed.detail.source).toBe('reconciler');
    },
  );

  it('bytes other than declared (same length; s3rver does not check the signed checksum) never complete: upload_mismatch', async () => {
    const bytes = Buffer.from(`# Declared ${randomUUID()}\n`);
    const up = await declare('other.md', 'text/markdown', bytes);
    const other = Buffer.from(bytes);
    other[2] = other[2] === 0x41 ? 0x42 : 0x41;
    expect((await put(up, other)).status).toBe(200);
    const [row] = await waitForJobs(stack, [up.job_id], 30_000);
    expect(row).toMatchObject({ stage: 'uploaded', state: 'deadletter', last_error: { code: 'upload_mismatch', kind: 'permanent' } });
    const view = (await (await api('GET', `/api/v2/jobs/${up.job_id}`)).json()) as { last_error: { code: string } };
    expect(view.last_error.code).toBe('upload_mismatch');
    // complete is idempotent on a dead letter: 200 with where the job is
    const c = await api('POST', `/api/v2/jobs/${up.job_id}/complete`);
    expect(c.status).toBe(200);
    expect(await c.json()).toMatchObject({ received: false, stage: 'uploaded', state: 'deadletter', last_error: { code: 'upload_mismatch' } });
  });

  it('another length is refused by POST /complete at once (422 upload_mismatch) and dead-lettered', async () => {
    const bytes = Buffer.from(`# Declared ${randomUUID()}\n`);
    const up = await declare('longer.md', 'text/markdown', bytes);
    await holdReconciler(up.job_id);
    expect((await put(up, Buffer.concat([bytes, Buffer.from('tail')]))).status).toBe(200);
    const c = await api('POST', `/api/v2/jobs/${up.job_id}/complete`);
    expect(c.status).toBe(422);
    const err = ((await c.json()) as { error: { code: string; details: unknown } }).error;
    expect(err).toMatchObject({ code: 'upload_mismatch', details: { expected: { size: bytes.length }, received: { size: bytes.length + 4 } } });
    expect(await job(up.job_id)).toMatchObject({ state: 'deadletter', last_error: { code: 'upload_mismatch' } });
  });

  it('an abandoned upload (no PUT, its window over) ends deadletter/upload_expired, and the page can say why', async () => {
    const up = await declare('abandoned.md', 'text/markdown', Buffer.from(`# Never sent ${randomUUID()}\n`));
    // the URL's lifetime is over (instead of waiting UPLOAD_URL_TTL_SEC); the grace is 0 here
    await stack.sql(
      `UPDATE upload_pipeline.upload_jobs SET upload_expires_at = now() - interval '1 minute', next_attempt_at = NULL WHERE job_id = $1`,
      [up.job_id],
    );
    const [row] = await waitForJobs(stack, [up.job_id], 30_000);
    expect(row).toMatchObject({ stage: 'uploaded', state: 'deadletter', last_error: { code: 'upload_expired', kind: 'permanent' } });
    const view = await (await api('GET', `/api/v2/jobs/${up.job_id}`)).json();
    expect(view).toMatchObject({ state: 'deadletter', last_error: { code: 'upload_expired' } });
    const [doc] = await stack.sql<{ processing_status: string }>(`SELECT processing_status FROM upload_pipeline.documents WHERE document_id = $1`, [
      up.document_id,
    ]);
    expect(doc.processing_status).toBe('failed');
  });

  it('POST /api/v2/jobs/:id/complete confirms at once (no reconciler); 409 before the bytes; idempotent; 404 for others', async () => {
    const bytes = Buffer.from(`# Complete ${randomUUID()}\n\nConfirmed by the owner's call.\n`);
    const up = await declare('complete.md', 'text/markdown', bytes);
    await holdReconciler(up.job_id);
    const early = await api('POST', `/api/v2/jobs/${up.job_id}/complete`);
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('upload_missing');
    expect((await put(up, bytes)).status).toBe(200);
    // another user's job is not found, like every job route
    expect((await api('POST', `/api/v2/jobs/${up.job_id}/complete`, undefined, { Authorization: `Bearer ${stack.token(randomUUID())}` })).status).toBe(404);
    const c = await api('POST', `/api/v2/jobs/${up.job_id}/complete`);
    expect(c.status).toBe(200);
    expect(await c.json()).toEqual({ job_id: up.job_id, document_id: up.document_id, received: true, stage: 'job_validated', state: 'queued', last_error: null });
    const again = await api('POST', `/api/v2/jobs/${up.job_id}/complete`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ received: false, last_error: null });
    const [row] = await waitForJobs(stack, [up.job_id], 60_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
  });

  it('a bucket event (S3-shaped, as s3rver emits and MinIO posts) confirms the upload; a wrong token is 401', async () => {
    const bytes = Buffer.from(`# Event ${randomUUID()}\n\nConfirmed by a bucket notification.\n`);
    const up = await declare('event.md', 'text/markdown', bytes);
    await holdReconciler(up.job_id);
    const key = new URL(up.signed_url).pathname.split('/').slice(2).join('/');
    const seen = events.length;
    expect((await put(up, bytes)).status).toBe(200);
    const event = await until('the bucket event', async () =>
      events.slice(seen).find((e) => JSON.stringify(e).includes(up.document_id)),
    );
    expect((await api('POST', '/api/v2/storage/events', event, { Authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await job(up.job_id)).state).toBe('waiting');
    const r = await api('POST', '/api/v2/storage/events', event, { Authorization: `Bearer ${EVENTS_TOKEN}` });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ results: [{ key, job_id: up.job_id, status: 'confirmed' }] });
    // MinIO's own shape (EventName, Key = bucket/key, s3:-prefixed event names) is understood too: a repeat changes nothing
    const minio = { EventName: 's3:ObjectCreated:Put', Key: `${s3.bucket}/${key}`, Records: [{ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: s3.bucket }, object: { key, size: bytes.length } } }] };
    const again = await api('POST', '/api/v2/storage/events', minio, { Authorization: `Bearer ${EVENTS_TOKEN}` });
    expect(await again.json()).toEqual({ results: [{ key, job_id: up.job_id, status: 'not_waiting' }] });
    const [row] = await waitForJobs(stack, [up.job_id], 60_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
  });

  /** Every key in the bucket under `prefix` (ListObjectsV2 through the SDK, as a client of the store). */
  async function listKeys(prefix: string): Promise<string[]> {
    const client = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
      return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])).sort();
    } finally {
      client.destroy();
    }
  }

  it('the `storage` breaker shows in the worker`s health and metrics, and in the storage health of both apps', async () => {
    const worker = stack.workers[0];
    const ready = (await (await fetch(`${worker.url}/health/ready`)).json()) as {
      details: { storage: { driver: string; breaker?: string }; breakers: { services: Record<string, { state: string }> } };
    };
    expect(ready.details.storage).toMatchObject({ status: 'up', driver: 's3', breaker: 'closed' });
    expect(ready.details.breakers.services.storage).toMatchObject({ state: 'closed' });
    expect(metricValue(await (await fetch(`${worker.url}/metrics`)).text(), 'ingest_breaker_state', { service: 'storage' })).toBe(0);
    const apiReady = (await (await fetch(`${stack.api.url}/health/ready`)).json()) as { details: { storage: { breaker?: string } } };
    expect(apiReady.details.storage).toMatchObject({ status: 'up', driver: 's3', breaker: 'closed' });
  });

  it('DELETE /api/v2/documents/:id of a completed document removes its objects from the store and its rows', async () => {
    const bytes = Buffer.from(`# Deleted ${randomUUID()}\n\nStored in the bucket, then removed with its document.\n`);
    const up = await declare('deleted.md', 'text/markdown', bytes);
    expect((await put(up, bytes)).status).toBe(200);
    const [row] = await waitForJobs(stack, [up.job_id], 60_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
    const [doc] = await stack.sql<{ raw_path: string; parsed_path: string | null }>(
      `SELECT raw_path, parsed_path FROM upload_pipeline.documents WHERE document_id = $1`,
      [up.document_id],
    );
    const prefix = `users/${user}/documents/${up.document_id}/`;
    const stored = await listKeys(prefix);
    // the upload and the parsed text are in the bucket, under the document's prefix
    expect(doc.parsed_path).toBeTruthy();
    expect(stored).toEqual(expect.arrayContaining([doc.raw_path, doc.parsed_path]));
    const chunks = async () =>
      Number((await stack.sql<{ n: string }>(`SELECT count(*) AS n FROM upload_pipeline.document_chunks WHERE document_id = $1`, [up.document_id]))[0].n);
    expect(await chunks()).toBeGreaterThan(0);
    // another user cannot delete it
    expect((await api('DELETE', `/api/v2/documents/${up.document_id}`, undefined, { Authorization: `Bearer ${stack.token(randomUUID())}` })).status).toBe(404);
    expect(await listKeys(prefix)).toEqual(stored);

    const r = await api('DELETE', `/api/v2/documents/${up.document_id}`);
    expect(r.status).toBe(204);
    expect(await listKeys(prefix)).toEqual([]);
    const bucket = await listKeys(`users/${user}/`);
    for (const key of [doc.raw_path, doc.parsed_path]) expect(bucket).not.toContain(key);
    // its rows: the document, its job and events, its chunks
    expect(await stack.sql(`SELECT 1 FROM upload_pipeline.documents WHERE document_id = $1`, [up.document_id])).toEqual([]);
    expect(await stack.sql(`SELECT 1 FROM upload_pipeline.upload_jobs WHERE job_id = $1`, [up.job_id])).toEqual([]);
    expect(await stack.sql(`SELECT 1 FROM upload_pipeline.events WHERE job_id = $1`, [up.job_id])).toEqual([]);
    expect(await chunks()).toBe(0);
    expect((await api('GET', `/api/v2/documents/${up.document_id}`)).status).toBe(404);
    // repeated: 404, and the other documents' objects are still there
    expect((await api('DELETE', `/api/v2/documents/${up.document_id}`)).status).toBe(404);
    expect(bucket.length).toBeGreaterThan(0);
  });
});
