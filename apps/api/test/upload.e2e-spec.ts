import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { App } from 'supertest/types';
import { signDevToken } from '@app/auth';
import { STORAGE, storageKey, type StorageDriver } from '@app/storage';
import { UploadFastPath } from '../src/uploads/upload-fast-path';
import { ApiHarness, pathOf, sha256, signedFieldsOf, signUploadAsDocumented, startApi, tinyPdf } from './api-harness';

const PDF = 'application/pdf';

function b64url(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('api: upload flow (e2e, real PostgreSQL and local storage)', () => {
  let h: ApiHarness;
  let http: App;
  const user = randomUUID();
  let token: string;

  beforeAll(async () => {
    h = await startApi();
    http = h.app.getHttpServer() as App;
    token = h.token(user);
  });
  afterAll(async () => {
    await h?.close();
  });

  const upload = (body: object, t = token) =>
    request(http).post('/api/v2/upload').set('Authorization', `Bearer ${t}`).send(body);

  const bodyFor = (bytes: Buffer, over: object = {}) => ({
    filename: 'report.pdf',
    bytes_len: bytes.length,
    mime: PDF,
    sha256: sha256(bytes),
    ...over,
  });

  describe('happy path', () => {
    const pdf = tinyPdf('happy path');
    let jobId: string;
    let documentId: string;
    let signedUrl: string;

    it('POST /api/v2/upload returns a job, a document and a signed URL', async () => {
      const r = await upload(bodyFor(pdf)).expect(201);
      expect(r.body).toMatchObject({ stage: 'uploaded', state: 'waiting', deduplicated: false, upload_method: 'PUT' });
      expect(r.body.job_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.body.signed_url).toContain('/api/v2/storage/upload?');
      expect(new Date(r.body.upload_expires_at).getTime()).toBeGreaterThan(Date.now());
      expect(r.body.upload_headers['Content-Type'] ?? r.body.upload_headers['content-type']).toBe(PDF);
      jobId = r.body.job_id;
      documentId = r.body.document_id;
      signedUrl = r.body.signed_url;

      const put = await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', PDF).send(pdf).expect(200);
      expect(put.body).toMatchObject({ job_id: jobId, document_id: documentId, received: true, stage: 'job_validated', state: 'queued' });
    });

    it('GET /api/v2/jobs/:id shows job_validated with its events', async () => {
      const r = await request(http).get(`/api/v2/jobs/${jobId}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(r.body).toMatchObject({ job_id: jobId, document_id: documentId, stage: 'job_validated', state: 'queued' });
      expect(r.body.progress.percent).toBe(5);
      expect(r.body.events.map((e: { type: string }) => e.type)).toEqual(['stage_started', 'stage_done']);
    });

    it('the same upload again returns the same document and job, and no URL once the bytes are in', async () => {
      const r = await upload(bodyFor(pdf, { filename: 'renamed.pdf' })).expect(200);
      expect(r.body).toMatchObject({ document_id: documentId, job_id: jobId, deduplicated: true, signed_url: null });
    });

    it('a repeated PUT is idempotent: 200, nothing stored or moved twice', async () => {
      const put = await request(http).put(pathOf(signedUrl)).set('Content-Type', PDF).send(pdf).expect(200);
      expect(put.body).toMatchObject({ job_id: jobId, received: false, stage: 'job_validated', state: 'queued' });
      const r = await request(http).get(`/api/v2/jobs/${jobId}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(r.body.events).toHaveLength(2);
      const list = await request(http).get('/api/v2/jobs').set('Authorization', `Bearer ${token}`).expect(200);
      expect(list.body.items.map((j: { job_id: string }) => j.job_id)).toContain(jobId);
    });

    it('another user sees neither the job nor it in their list (404, not 403)', async () => {
      const other = h.token(randomUUID());
      const r = await request(http).get(`/api/v2/jobs/${jobId}`).set('Authorization', `Bearer ${other}`).expect(404);
      expect(r.body.error).toMatchObject({ status: 404, code: 'not_found' });
      const list = await request(http).get('/api/v2/jobs').set('Authorization', `Bearer ${other}`).expect(200);
      expect(list.body.items).toEqual([]);
      await request(http).get(`/api/v2/jobs/not-a-uuid`).set('Authorization', `Bearer ${other}`).expect(404);
    });

    it('the same bytes from another user make another document', async () => {
      const r = await upload(bodyFor(pdf), h.token(randomUUID())).expect(201);
      expect(r.body.document_id).not.toBe(documentId);
    });
  });

  describe('POST /api/v2/upload/:document_id/complete (bytes stored directly, as with S3)', () => {
    const complete = (documentId: string, t = token) =>
      request(http).post(`/api/v2/upload/${documentId}/complete`).set('Authorization', `Bearer ${t}`);
    /** Stores bytes at the document's raw key the way a direct upload to the bucket would (no api PUT). */
    const storeDirectly = (documentId: string, bytes: Buffer, owner = user) =>
      h.app.get<symbol, StorageDriver>(STORAGE).putObject(storageKey.raw(owner, documentId), bytes);

    it('409 upload_missing before the bytes are stored; the job still waits', async () => {
      const pdf = tinyPdf('complete: missing');
      const r = await upload(bodyFor(pdf)).expect(201);
      const c = await complete(r.body.document_id).expect(409);
      expect(c.body.error).toMatchObject({ status: 409, code: 'upload_missing' });
      const job = await request(http).get(`/api/v2/jobs/${r.body.job_id}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(job.body).toMatchObject({ stage: 'uploaded', state: 'waiting' });
    });

    it('confirms stored bytes of the declared size: the job moves to job_validated; a repeat answers received: false', async () => {
      const pdf = tinyPdf('complete: stored directly');
      const r = await upload(bodyFor(pdf)).expect(201);
      await storeDirectly(r.body.document_id, pdf);
      const c = await complete(r.body.document_id).expect(200);
      expect(c.body).toEqual({
        job_id: r.body.job_id,
        document_id: r.body.document_id,
        received: true,
        stage: 'job_validated',
        state: 'queued',
        last_error: null,
      });
      const again = await complete(r.body.document_id).expect(200);
      expect(again.body).toMatchObject({ received: false, stage: 'job_validated', state: 'queued' });
      const job = await request(http).get(`/api/v2/jobs/${r.body.job_id}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(job.body.events.map((e: { type: string }) => e.type)).toEqual(['stage_started', 'stage_done']);
    });

    it('422 upload_mismatch when the stored object has another size: dead-lettered for good (a mismatch is permanent)', async () => {
      const pdf = tinyPdf('complete: wrong size');
      const r = await upload(bodyFor(pdf)).expect(201);
      await storeDirectly(r.body.document_id, Buffer.concat([pdf, Buffer.from('extra')]));
      const c = await complete(r.body.document_id).expect(422);
      expect(c.body.error).toMatchObject({ code: 'upload_mismatch', details: { expected: { size: pdf.length }, received: { size: pdf.length + 5 } } });
      const job = await request(http).get(`/api/v2/jobs/${r.body.job_id}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(job.body).toMatchObject({ stage: 'uploaded', state: 'deadletter', last_error: { code: 'upload_mismatch' } });
    });

    it('422 upload_mismatch when the store reports another sha256 (S3 reports the checksum it verified)', async () => {
      const pdf = tinyPdf('complete: wrong sha');
      const r = await upload(bodyFor(pdf)).expect(201);
      await storeDirectly(r.body.document_id, pdf);
      // the local driver knows sizes only; S3's HeadObject also returns the object's SHA-256
      const storage = h.app.get<symbol, StorageDriver>(STORAGE);
      const stat = jest.spyOn(storage, 'stat').mockResolvedValueOnce({ size: pdf.length, sha256: 'f'.repeat(64) });
      try {
        const c = await complete(r.body.document_id).expect(422);
        expect(c.body.error).toMatchObject({
          code: 'upload_mismatch',
          details: { expected: { size: pdf.length, sha256: sha256(pdf) }, received: { size: pdf.length, sha256: 'f'.repeat(64) } },
        });
      } finally {
        stat.mockRestore();
      }
      // idempotent: the dead letter is answered as it is
      const again = await complete(r.body.document_id).expect(200);
      expect(again.body).toMatchObject({ received: false, stage: 'uploaded', state: 'deadletter', last_error: { code: 'upload_mismatch' } });
    });

    it('the local driver reports no sha256: the stored bytes are hashed, and other bytes of the right size are refused', async () => {
      const pdf = tinyPdf('complete: same size, other bytes');
      const r = await upload(bodyFor(pdf)).expect(201);
      const other = Buffer.from(pdf);
      other[other.length - 2] ^= 0x01;
      await storeDirectly(r.body.document_id, other);
      const c = await request(http).post(`/api/v2/jobs/${r.body.job_id}/complete`).set('Authorization', `Bearer ${token}`).expect(422);
      expect(c.body.error.code).toBe('upload_mismatch');
    });

    it('POST /api/v2/jobs/:id/complete: the same check by job id; 404 for another user, an unknown or a malformed id', async () => {
      const pdf = tinyPdf('jobs complete');
      const r = await upload(bodyFor(pdf)).expect(201);
      const byJob = (id: string, t = token) => request(http).post(`/api/v2/jobs/${id}/complete`).set('Authorization', `Bearer ${t}`);
      expect((await byJob(r.body.job_id).expect(409)).body.error.code).toBe('upload_missing');
      await storeDirectly(r.body.document_id, pdf);
      await byJob(r.body.job_id, h.token(randomUUID())).expect(404);
      await byJob(randomUUID()).expect(404);
      await byJob('not-a-uuid').expect(404);
      const c = await byJob(r.body.job_id).expect(200);
      expect(c.body).toMatchObject({ job_id: r.body.job_id, received: true, stage: 'job_validated', state: 'queued', last_error: null });
    });

    it('an upload whose window closed without bytes: 410 upload_expired, dead-lettered; the same file again revives it', async () => {
      const pdf = tinyPdf('complete: expired');
      const r = await upload(bodyFor(pdf)).expect(201);
      await h.app
        .get(DataSource)
        .query(`UPDATE upload_pipeline.upload_jobs SET upload_expires_at = now() - interval '1 hour' WHERE job_id = $1`, [r.body.job_id]);
      const c = await request(http).post(`/api/v2/jobs/${r.body.job_id}/complete`).set('Authorization', `Bearer ${token}`).expect(410);
      expect(c.body.error.code).toBe('upload_expired');
      const job = await request(http).get(`/api/v2/jobs/${r.body.job_id}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(job.body).toMatchObject({ stage: 'uploaded', state: 'deadletter', last_error: { code: 'upload_expired' } });
      const again = await upload(bodyFor(pdf)).expect(200);
      expect(again.body).toMatchObject({ job_id: r.body.job_id, stage: 'uploaded', state: 'waiting' });
      expect(again.body.signed_url).toContain('/api/v2/storage/upload?');
      await request(http).put(pathOf(again.body.signed_url)).set('Content-Type', PDF).send(pdf).expect(200);
    });

    it('POST /api/v2/storage/events is off (404) without STORAGE_EVENTS_TOKEN', async () => {
      await request(http).post('/api/v2/storage/events').set('Authorization', 'Bearer anything-0123456789').send({ Records: [] }).expect(404);
    });

    it("404 for another user's document, an unknown id and a malformed id", async () => {
      const pdf = tinyPdf('complete: not yours');
      const r = await upload(bodyFor(pdf)).expect(201);
      await storeDirectly(r.body.document_id, pdf);
      const other = h.token(randomUUID());
      expect((await complete(r.body.document_id, other).expect(404)).body.error.code).toBe('not_found');
      await complete(randomUUID()).expect(404);
      await complete('not-a-uuid').expect(404);
      await complete('a'.repeat(2000)).expect(404); // no key is built from it (was a 500: found by fuzz.e2e-spec)
      await request(http).post(`/api/v2/upload/${r.body.document_id}/complete`).expect(401);
    });

    it('after a PUT through the api the upload is already confirmed: received: false', async () => {
      const pdf = tinyPdf('complete: after put');
      const r = await upload(bodyFor(pdf)).expect(201);
      await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', PDF).send(pdf).expect(200);
      const c = await complete(r.body.document_id).expect(200);
      expect(c.body).toMatchObject({ received: false, stage: 'job_validated', state: 'queued' });
    });
  });

  describe('signed URL checks', () => {
    it('wrong bytes (sha256 mismatch) are refused with 422 and nothing moves', async () => {
      const pdf = tinyPdf('sha mismatch');
      const r = await upload(bodyFor(pdf)).expect(201);
      const other = tinyPdf('sha mismatcH'); // same length, other bytes
      expect(other.length).toBe(pdf.length);
      const put = await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', PDF).send(other).expect(422);
      expect(put.body.error).toMatchObject({ status: 422, code: 'sha256_mismatch' });
      const job = await request(http).get(`/api/v2/jobs/${r.body.job_id}`).set('Authorization', `Bearer ${token}`).expect(200);
      expect(job.body).toMatchObject({ stage: 'uploaded', state: 'waiting' });
      // the right bytes still go through on the same URL
      await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', PDF).send(pdf).expect(200);
    });

    it('a body of the wrong size is refused with 422', async () => {
      const pdf = tinyPdf('size mismatch');
      const r = await upload(bodyFor(pdf)).expect(201);
      const short = await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', PDF).send(pdf.subarray(0, 10)).expect(422);
      expect(short.body.error.code).toBe('size_mismatch');
      const long = await request(http)
        .put(pathOf(r.body.signed_url))
        .set('Content-Type', PDF)
        .send(Buffer.concat([pdf, Buffer.from('extra')]))
        .expect(422);
      expect(long.body.error.code).toBe('size_mismatch');
    });

    it('a tampered URL (key, expiry, size, sha256, signature) is 403', async () => {
      const pdf = tinyPdf('tamper');
      const r = await upload(bodyFor(pdf)).expect(201);
      const u = new URL(r.body.signed_url);
      const tamper = async (name: string, value: string) => {
        const t = new URL(u);
        t.searchParams.set(name, value);
        const res = await request(http).put(pathOf(t.toString())).set('Content-Type', PDF).send(pdf).expect(403);
        expect(res.body.error).toMatchObject({ status: 403, code: 'invalid_signature' });
      };
      await tamper('key', (u.searchParams.get('key') ?? '').replace(/raw$/, 'parsed.md'));
      await tamper('key', `users/${randomUUID()}/documents/${randomUUID()}/raw`);
      await tamper('expires', String(Number(u.searchParams.get('expires')) + 3600));
      await tamper('size', String(pdf.length + 1));
      await tamper('sha256', 'f'.repeat(64));
      await tamper('sig', '0'.repeat(64));
      await tamper('key', '../../etc/passwd');
      // content type is covered too
      await request(http).put(pathOf(r.body.signed_url)).set('Content-Type', 'text/plain').send(pdf).expect(403);
    });

    it('an expired URL is 403 upload_url_expired', async () => {
      const pdf = tinyPdf('expired');
      const r = await upload(bodyFor(pdf)).expect(201);
      const u = new URL(r.body.signed_url);
      // the documented signature reproduces the api's, so the URL below is authentic, only expired
      expect(signUploadAsDocumented(signedFieldsOf(u, PDF), h.config.STORAGE_SIGNING_SECRET)).toBe(u.searchParams.get('sig'));
      const expires = Math.floor(Date.now() / 1000) - 5;
      const fields = { key: u.searchParams.get('key') ?? '', expires, size: pdf.length, sha256: sha256(pdf), contentType: PDF };
      u.searchParams.set('expires', String(expires));
      u.searchParams.set('sig', signUploadAsDocumented(fields, h.config.STORAGE_SIGNING_SECRET));
      const res = await request(http).put(pathOf(u.toString())).set('Content-Type', PDF).send(pdf).expect(403);
      expect(res.body.error.code).toBe('upload_url_expired');
    });
  });

  describe('validation: bad input is a clear 4xx listing the fields', () => {
    const pdf = tinyPdf('validation');
    const fieldsOf = (r: request.Response) => (r.body.error.details as { field: string }[]).map((d) => d.field);

    it.each([
      ['../x.pdf', 'path traversal'],
      ['a/b.pdf', 'slash'],
      ['a\\b.pdf', 'backslash'],
      ['bad\u0000name.pdf', 'NUL'],
      ['line\nbreak.pdf', 'newline'],
      ['', 'empty'],
      ['x'.repeat(256), 'too long'],
      ['..', 'dot-dot'],
    ])('filename %j (%s) is refused', async (filename) => {
      const r = await upload(bodyFor(pdf, { filename })).expect(400);
      expect(r.body.error).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(fieldsOf(r)).toContain('filename');
    });

    it('a 30 MiB declared size is refused (limit 25 MiB)', async () => {
      const r = await upload(bodyFor(pdf, { bytes_len: 30 * 1024 * 1024 })).expect(400);
      expect(fieldsOf(r)).toEqual(['bytes_len']);
      expect(r.body.error.details[0].messages[0]).toContain('26214400');
    });

    it('zero, negative, fractional and string sizes are refused', async () => {
      for (const bytes_len of [0, -1, 1.5, '12', null]) {
        const r = await upload(bodyFor(pdf, { bytes_len })).expect(400);
        expect(fieldsOf(r)).toContain('bytes_len');
      }
    });

    it('mime outside the allow-list and a bad sha256 are refused together', async () => {
      const r = await upload(bodyFor(pdf, { mime: 'application/x-msdownload', sha256: 'xyz' })).expect(400);
      expect(fieldsOf(r).sort()).toEqual(['mime', 'sha256']);
    });

    it('unknown fields, malformed JSON and a non-object body are 400, never 500', async () => {
      await upload({ ...bodyFor(pdf), admin: true }).expect(400);
      const bad = await request(http)
        .post('/api/v2/upload')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/json')
        .send('{"filename": ')
        .expect(400);
      expect(bad.body.error.code).toBe('invalid_json');
      await request(http).post('/api/v2/upload').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send('[1,2]').expect(400);
      await request(http).post('/api/v2/upload').set('Authorization', `Bearer ${token}`).send().expect(400);
    });

    it('a bad pagination cursor or limit is 400', async () => {
      await request(http).get('/api/v2/jobs?cursor=nonsense').set('Authorization', `Bearer ${token}`).expect(400);
      await request(http).get('/api/v2/jobs?limit=0').set('Authorization', `Bearer ${token}`).expect(400);
      await request(http).get('/api/v2/jobs?limit=abc').set('Authorization', `Bearer ${token}`).expect(400);
      await request(http).get('/api/v2/jobs?state=sleeping').set('Authorization', `Bearer ${token}`).expect(400);
    });
  });

  describe('authentication', () => {
    const pdf = tinyPdf('auth');
    const header = (t: string) => ({ Authorization: `Bearer ${t}` });
    const expectRefused = async (t: string | null) => {
      const req = request(http).post('/api/v2/upload');
      if (t !== null) req.set(header(t));
      const r = await req.send(bodyFor(pdf)).expect(401);
      expect(r.body.error).toMatchObject({ status: 401, code: 'unauthorized' });
    };

    it('refuses a missing token', () => expectRefused(null));
    it('refuses a token signed with another key', () => expectRefused(signDevToken({ secret: 'x'.repeat(40), sub: user })));
    it('refuses an expired token', () => expectRefused(h.token(user, { expiresInSec: -60 })));
    it('refuses alg none', () => {
      const now = Math.floor(Date.now() / 1000);
      return expectRefused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: user, aud: 'authenticated', exp: now + 600 })}.`);
    });
    it('refuses HS512 with the right key', () => {
      const now = Math.floor(Date.now() / 1000);
      const head = `${b64url({ alg: 'HS512', typ: 'JWT' })}.${b64url({ sub: user, aud: 'authenticated', exp: now + 600 })}`;
      const sig = createHmac('sha512', h.config.JWT_SECRET).update(head).digest('base64url');
      return expectRefused(`${head}.${sig}`);
    });
    it('refuses a token without sub', () => {
      const now = Math.floor(Date.now() / 1000);
      const head = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ aud: 'authenticated', exp: now + 600 })}`;
      const sig = createHmac('sha256', h.config.JWT_SECRET).update(head).digest('base64url');
      return expectRefused(`${head}.${sig}`);
    });
    it('refuses a wrong audience', () => expectRefused(h.token(user, { aud: 'someone-else' })));
    it('refuses garbage', () => expectRefused('not.a.jwt'));
  });

  describe('the upload POST ahead of the router (UploadFastPath, decisions #33)', () => {
    // The fast path serves only `/api/v2/upload` exactly: the same request with a query string goes through Express's
    // router and Nest's pipeline, which is what the fast path must answer like.
    // (the controller's own method cannot be spied on: Nest reads the route's metadata from it)
    const served = jest.spyOn(UploadFastPath.prototype as unknown as { respond: () => void }, 'respond');
    afterAll(() => served.mockRestore());
    // headers whose values differ from one request to the next: their names are compared, not their values
    const VARYING = new Set(['date', 'etag', 'content-length', 'x-request-id', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after']);
    const shape = (r: request.Response) => ({
      status: r.status,
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, VARYING.has(k) ? '<varies>' : v])),
      body: JSON.parse(
        JSON.stringify(r.body)
          .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
          .replace(/"signed_url":"[^"]*"/, '"signed_url":"<url>"')
          .replace(/"upload_expires_at":"[^"]*"/, '"upload_expires_at":"<time>"'),
      ),
    });
    const twice = async (body: (n: number) => object | string, contentType = 'application/json') => {
      const post = (url: string, b: object | string) =>
        request(http).post(url).set('Authorization', `Bearer ${token}`).set('Content-Type', contentType).send(b);
      served.mockClear();
      const fast = await post('/api/v2/upload', body(1));
      const fastServed = served.mock.calls.length;
      const routed = await post('/api/v2/upload?via=router', body(2));
      return { fast, routed, fastServed, routedServed: served.mock.calls.length - fastServed };
    };

    it('a new document: the same 201, headers and body as through the router', async () => {
      const r = await twice((n) => bodyFor(tinyPdf(`fast path ${n}`)));
      expect(r.fast.status).toBe(201);
      expect(r.fastServed).toBe(1);
      expect(r.routedServed).toBe(0);
      expect(shape(r.fast)).toEqual(shape(r.routed));
      expect(r.fast.headers['content-security-policy']).toBeDefined(); // helmet ran before it
      expect(r.fast.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.fast.headers['x-ratelimit-remaining']).toBeDefined();
    });

    it('a known document: the same 200 (deduplicated)', async () => {
      const pdf = tinyPdf('fast path known');
      await upload(bodyFor(pdf)).expect(201);
      const r = await twice(() => bodyFor(pdf));
      expect(r.fast.status).toBe(200);
      expect(r.fastServed).toBe(1);
      expect(r.routedServed).toBe(0);
      expect(shape(r.fast)).toEqual(shape(r.routed));
    });

    it('bodies it does not take go on to the framework with what it read: the same 400s', async () => {
      const pdf = tinyPdf('fast path refused');
      for (const body of [{ ...bodyFor(pdf), admin: true }, bodyFor(pdf, { filename: '../x' }), bodyFor(pdf, { bytes_len: '12' }), [1, 2]]) {
        const r = await twice(() => body);
        expect(r.fast.status).toBe(400);
        expect(r.fastServed).toBe(0);
        expect(shape(r.fast)).toEqual(shape(r.routed));
      }
      const bad = await twice(() => '{"filename": ');
      expect(bad.fast.body.error.code).toBe('invalid_json');
      expect(shape(bad.fast)).toEqual(shape(bad.routed));
    });

    it('a refused token, another charset and a body over the limit get the framework answers too', async () => {
      const pdf = tinyPdf('fast path others');
      served.mockClear();
      const refused = await request(http).post('/api/v2/upload').set('Authorization', 'Bearer not.a.jwt').send(bodyFor(pdf));
      const refusedRouted = await request(http).post('/api/v2/upload?x=1').set('Authorization', 'Bearer not.a.jwt').send(bodyFor(pdf));
      expect(served).not.toHaveBeenCalled();
      expect(refused.status).toBe(401);
      expect(shape(refused)).toEqual(shape(refusedRouted));
      const latin = await twice((n) => JSON.stringify(bodyFor(tinyPdf(`latin ${n}`))), 'application/json; charset=iso-8859-1');
      expect(latin.fastServed).toBe(0);
      expect(shape(latin.fast)).toEqual(shape(latin.routed));
      // over the JSON limit (1 MiB): body-parser's 413
      const big = await twice((n) => ({ ...bodyFor(tinyPdf(`big ${n}`)), filename: 'x'.repeat(1_100_000) }));
      expect(big.fast.status).toBe(413);
      expect(big.fastServed).toBe(0);
      expect(shape(big.fast)).toEqual(shape(big.routed));
    });

    it('the rate limit (the same 429), the HTTP metrics under the route and one log line a request, in its correlation id', async () => {
      const logs: string[] = [];
      const limited = await startApi(
        { UPLOAD_RATE_LIMIT: '2', UPLOAD_RATE_WINDOW_SEC: '60', LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
        { logDestination: { write: (line: string) => void logs.push(line) } },
      );
      try {
        const server = limited.app.getHttpServer() as App;
        const post = (t: string, url: string, n: number) =>
          request(server).post(url).set('Authorization', `Bearer ${t}`).send(bodyFor(tinyPdf(`limited ${url} ${n}`)));
        const [viaFast, viaRouter] = [limited.token(randomUUID()), limited.token(randomUUID())];
        served.mockClear();
        const fast = [await post(viaFast, '/api/v2/upload', 1), await post(viaFast, '/api/v2/upload', 2), await post(viaFast, '/api/v2/upload', 3)];
        expect(served).toHaveBeenCalledTimes(3);
        const routed = [];
        for (const n of [1, 2, 3]) routed.push(await post(viaRouter, '/api/v2/upload?via=router', n));
        expect(served).toHaveBeenCalledTimes(3);
        expect(fast.map((r) => r.status)).toEqual([201, 201, 429]);
        expect(fast.map(shape)).toEqual(routed.map(shape));
        expect(fast[2].body.error).toMatchObject({ status: 429, code: 'rate_limited' });
        expect(Number(fast[2].headers['retry-after'])).toBeGreaterThan(0);

        const metrics = (await request(server).get('/metrics').expect(200)).text;
        const count = (status: number) =>
          Number(new RegExp(`http_request_duration_seconds_count\\{[^}]*method="POST"[^}]*route="/api/v2/upload"[^}]*status_code="${status}"[^}]*\\} (\\d+)`).exec(metrics)?.[1]);
        expect([count(201), count(429)]).toEqual([4, 2]);

        type Line = { msg?: string; req?: { url?: string }; correlation_id?: string; res?: { statusCode?: number } };
        const completed = logs.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request completed' && l.req?.url?.startsWith('/api/v2/upload'));
        expect(completed).toHaveLength(6);
        for (const r of fast)
          expect(completed.filter((l) => l.correlation_id === r.headers['x-request-id']).map((l) => [l.req?.url, l.res?.statusCode])).toEqual([['/api/v2/upload', r.status]]);
      } finally {
        await limited.close();
      }
    });
  });

  describe('health', () => {
    it('live and ready answer 200 without a token', async () => {
      await request(http).get('/health/live').expect(200);
      const r = await request(http).get('/health/ready').expect(200);
      expect(r.body.status).toBe('ok');
      expect(Object.keys(r.body.info)).toEqual(expect.arrayContaining(['database', 'storage']));
    });

    it('unknown routes are 404 in the error shape', async () => {
      const r = await request(http).get('/nope').expect(404);
      expect(r.body.error).toMatchObject({ status: 404, code: 'not_found' });
    });

    it('the OpenAPI document lists the upload route', async () => {
      const r = await request(http).get('/docs/openapi.json').expect(200);
      expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(['/api/v2/upload', '/api/v2/jobs/{id}']));
    });
  });
});
