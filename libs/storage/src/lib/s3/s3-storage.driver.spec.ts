/**
 * Wire-format tests of the S3 driver: the real AWS SDK builds, signs and parses every request, but
 * a capturing request handler stands in for the network (no S3 server is available here). They
 * check what goes on the wire (method, path, query, headers, body) and how canned S3 responses and
 * errors are understood. They do not prove S3 accepts the requests; the presigned URL's signature is
 * however recomputed independently (SigV4) to show exactly which header values it binds.
 */
import { ServicePolicy } from '@app/circuit-breaker';
import { BreakerOpenError, PermanentError, TransientError } from '@app/errors';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { HOSTILE_KEYS } from '../../../test/hostile-keys';
import { s3ErrorXml, wireHandler, type CannedResponse, type CapturedRequest, type Responder } from '../../../test/s3-wire';
import {
  InvalidStorageKeyError,
  StorageError,
  StorageNotFoundError,
  StorageObjectTooLargeError,
  StorageUnavailableError,
} from '../storage.errors';
import { hashStream } from '../stream.util';
import { classifyStorageError, mapS3Error } from './s3-errors';
import { S3StorageDriver, type S3StorageDriverOptions } from './s3-storage.driver';

const NOW = new Date('2030-03-04T05:06:07.890Z');
const CREDS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'SECRETTEST' };
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const b64 = (b: Buffer | string): string => createHash('sha256').update(b).digest('base64');

function make(responder: Responder, extra: Partial<S3StorageDriverOptions> = {}): { driver: S3StorageDriver; requests: CapturedRequest[] } {
  const { handler, requests } = wireHandler(responder);
  const driver = new S3StorageDriver({
    bucket: 'docs',
    region: 'eu-central-1',
    endpoint: 'http://minio.test:9000',
    forcePathStyle: true,
    ...CREDS,
    maxAttempts: 1,
    requestHandler: handler,
    now: () => NOW,
    ...extra,
  });
  return { driver, requests };
}

const ok = (r: CannedResponse = { status: 200 }): Responder => () => r;

// --- independent SigV4 presign check -------------------------------------------------------------

const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

function expectedPresignSignature(url: URL, headers: Record<string, string>, secret: string): string {
  const params = [...url.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const canonicalQuery = params
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
  const canonicalHeaders = signed.map((h) => `${h}:${headers[h].trim()}\n`).join('');
  const canonicalRequest = ['PUT', url.pathname, canonicalQuery, canonicalHeaders, signed.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const [, day, region, service] = /^[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(url.searchParams.get('X-Amz-Credential') ?? '') ?? [];
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, `${day}/${region}/${service}/aws4_request`, sha(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  return hmac(key, stringToSign).toString('hex');
}

describe('S3StorageDriver (wire-format tests)', () => {
  describe('createUploadUrl', () => {
    const body = Buffer.from('%PDF-1.7 fake pdf bytes');
    const opts = { bytesLen: body.length, sha256: sha(body), contentType: 'application/pdf', expiresInSec: 900 };

    it('presigns a PUT whose signature covers Content-Length, Content-Type and x-amz-checksum-sha256', async () => {
      const { driver, requests } = make(ok());
      const target = await driver.createUploadUrl('users/u1/documents/d1/raw', opts);
      expect(requests).toEqual([]); // presigning is offline
      expect(target.method).toBe('PUT');
      expect(target.headers).toEqual({ 'Content-Type': 'application/pdf', 'x-amz-checksum-sha256': b64(body) });
      expect(target.expiresAt.toISOString()).toBe('2030-03-04T05:21:07.000Z');

      const url = new URL(target.url);
      expect(`${url.origin}${url.pathname}`).toBe('http://minio.test:9000/docs/users/u1/documents/d1/raw');
      const q = url.searchParams;
      expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(q.get('X-Amz-Credential')).toBe('AKIDTEST/20300304/eu-central-1/s3/aws4_request');
      expect(q.get('X-Amz-Date')).toBe('20300304T050607Z');
      expect(q.get('X-Amz-Expires')).toBe('900');
      expect(q.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;x-amz-checksum-sha256');
      // the checksum must travel as a (signed) header, not as a query parameter
      expect([...q.keys()].map((k) => k.toLowerCase())).not.toContain('x-amz-checksum-sha256');
      expect([...q.keys()].some((k) => k.toLowerCase().startsWith('x-amz-checksum'))).toBe(false);
      expect([...q.keys()].some((k) => k.toLowerCase() === 'x-amz-sdk-checksum-algorithm')).toBe(false);

      const sent = {
        host: 'minio.test:9000',
        'content-length': String(body.length),
        'content-type': 'application/pdf',
        'x-amz-checksum-sha256': b64(body),
      };
      expect(q.get('X-Amz-Signature')).toBe(expectedPresignSignature(url, sent, CREDS.secretAccessKey));
      // any other length, type or checksum gives another signature: S3 would answer 403
      for (const change of [{ 'content-length': String(body.length + 1) }, { 'content-type': 'text/plain' }, { 'x-amz-checksum-sha256': b64('other') }])
        expect(q.get('X-Amz-Signature')).not.toBe(expectedPresignSignature(url, { ...sent, ...change }, CREDS.secretAccessKey));
    });

    it('uses virtual-hosted addressing on AWS and honours the expiry', async () => {
      const { driver } = make(ok(), { endpoint: undefined, forcePathStyle: false });
      const target = await driver.createUploadUrl('k/raw', { ...opts, expiresInSec: 60 });
      const url = new URL(target.url);
      expect(url.host).toBe('docs.s3.eu-central-1.amazonaws.com');
      expect(url.pathname).toBe('/k/raw');
      expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
      expect(target.expiresAt.getTime()).toBe(Math.floor(NOW.getTime() / 1000) * 1000 + 60_000);
      const sent = { host: url.host, 'content-length': String(body.length), 'content-type': 'application/pdf', 'x-amz-checksum-sha256': b64(body) };
      expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedPresignSignature(url, sent, CREDS.secretAccessKey));
    });

    it('refuses bad keys and options', async () => {
      const { driver } = make(ok());
      for (const key of HOSTILE_KEYS) await expect(driver.createUploadUrl(key, opts)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(driver.createUploadUrl('k', { ...opts, expiresInSec: 604_801 })).rejects.toBeInstanceOf(RangeError);
      await expect(driver.createUploadUrl('k', { ...opts, sha256: 'x' })).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('putObject', () => {
    it('sends one PutObject with length, type and sha256 checksum for a Buffer', async () => {
      const { driver, requests } = make(ok({ status: 200, headers: { etag: '"e1"' } }));
      const body = Buffer.from('# parsed markdown\n');
      expect(await driver.putObject('users/u1/documents/d1/parsed.md', body, { contentType: 'text/markdown' })).toEqual({
        size: body.length,
        sha256: sha(body),
      });
      expect(requests).toHaveLength(1);
      const [r] = requests;
      expect(r.method).toBe('PUT');
      expect(r.path).toBe('/docs/users/u1/documents/d1/parsed.md');
      expect(r.headers['content-length']).toBe(String(body.length));
      expect(r.headers['content-type']).toBe('text/markdown');
      expect(r.headers['x-amz-checksum-sha256']).toBe(b64(body));
      expect(r.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/20\d{6}\/eu-central-1\/s3\/aws4_request/);
      expect(r.body.equals(body)).toBe(true);
    });

    it('sends a small stream as one PutObject', async () => {
      const { driver, requests } = make(ok());
      const body = Buffer.alloc(70_000, 3);
      expect(await driver.putObject('s', Readable.from([body.subarray(0, 30_000), body.subarray(30_000)]))).toEqual({ size: 70_000, sha256: sha(body) });
      expect(requests.map((r) => r.method)).toEqual(['PUT']);
      expect(r0(requests).body.equals(body)).toBe(true);
      expect(r0(requests).headers['x-amz-checksum-sha256']).toBe(b64(body));
    });

    const PART = 5 * 1024 * 1024;
    const big = Buffer.alloc(2 * PART + 12_345);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 251;

    function multipartResponder(failPart?: number): Responder {
      return (req) => {
        if (req.method === 'POST' && 'uploads' in req.query)
          return { status: 200, body: '<InitiateMultipartUploadResult><Bucket>docs</Bucket><Key>big</Key><UploadId>UP-1</UploadId></InitiateMultipartUploadResult>' };
        if (req.method === 'PUT' && req.query.partNumber) {
          if (Number(req.query.partNumber) === failPart) return { status: 500, body: s3ErrorXml('InternalError') };
          return { status: 200, headers: { etag: `"etag-${req.query.partNumber}"` } };
        }
        if (req.method === 'POST' && req.query.uploadId)
          return { status: 200, body: '<CompleteMultipartUploadResult><Bucket>docs</Bucket><Key>big</Key><ETag>"x-3"</ETag></CompleteMultipartUploadResult>' };
        if (req.method === 'DELETE' && req.query.uploadId) return { status: 204 };
        return { status: 400, body: s3ErrorXml('Unexpected') };
      };
    }

    it('sends a large stream as a multipart upload with per-part sha256 checksums', async () => {
      const { driver, requests } = make(multipartResponder(), { multipartPartSize: PART });
      const chunks: Buffer[] = [];
      for (let i = 0; i < big.length; i += 700_001) chunks.push(big.subarray(i, i + 700_001));
      expect(await driver.putObject('big', Readable.from(chunks), { contentType: 'application/pdf' })).toEqual({ size: big.length, sha256: sha(big) });

      expect(requests.map((r) => `${r.method} ${r.query.partNumber ?? ''}`)).toEqual(['POST ', 'PUT 1', 'PUT 2', 'PUT 3', 'POST ']);
      const [create, p1, p2, p3, complete] = requests;
      expect(create.headers['x-amz-checksum-algorithm']).toBe('SHA256');
      expect(create.headers['content-type']).toBe('application/pdf');
      const parts = [big.subarray(0, PART), big.subarray(PART, 2 * PART), big.subarray(2 * PART)];
      [p1, p2, p3].forEach((p, i) => {
        expect(p.query.uploadId).toBe('UP-1');
        expect(p.body.equals(parts[i])).toBe(true);
        expect(p.headers['content-length']).toBe(String(parts[i].length));
        expect(p.headers['x-amz-checksum-sha256']).toBe(b64(parts[i]));
      });
      expect(complete.query.uploadId).toBe('UP-1');
      const xml = complete.body.toString();
      for (let i = 0; i < 3; i++) {
        expect(xml).toContain(`<PartNumber>${i + 1}</PartNumber>`);
        expect(xml).toContain(`<ETag>&quot;etag-${i + 1}&quot;</ETag>`);
        expect(xml).toContain(`<ChecksumSHA256>${b64(parts[i])}</ChecksumSHA256>`);
      }
    });

    it('aborts the multipart upload when a part fails, and reports a transient error', async () => {
      const { driver, requests } = make(multipartResponder(2), { multipartPartSize: PART });
      await expect(driver.putObject('big', Readable.from([big]))).rejects.toBeInstanceOf(StorageUnavailableError);
      expect(requests.map((r) => `${r.method} ${r.query.partNumber ?? ''}`)).toEqual(['POST ', 'PUT 1', 'PUT 2', 'DELETE ']);
      expect(requests[3].query.uploadId).toBe('UP-1');
    });

    it('refuses a part size below S3 minimum', () => {
      expect(() => make(ok(), { multipartPartSize: 1024 })).toThrow(RangeError);
    });
  });

  describe('reads', () => {
    it('getObject streams the body; NoSuchKey is StorageNotFoundError', async () => {
      const { driver, requests } = make((req) =>
        req.path.endsWith('/there') ? { status: 200, headers: { 'content-type': 'text/plain' }, body: 'contents' } : { status: 404, body: s3ErrorXml('NoSuchKey') },
      );
      const stream = await driver.getObject('a/there');
      expect((await hashStream(stream)).sha256).toBe(sha('contents'));
      expect(requests[0]).toMatchObject({ method: 'GET', path: '/docs/a/there' });
      await expect(driver.getObject('a/missing')).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(driver.getObjectBuffer('a/missing')).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(driver.hashObject('a/missing')).rejects.toBeInstanceOf(StorageNotFoundError);
      expect(await driver.hashObject('a/there')).toEqual({ size: 8, sha256: sha('contents') });
      expect(await driver.getObjectBuffer('a/there', 8)).toEqual(Buffer.from('contents'));
    });

    it('getObjectBuffer refuses more than maxBytes, by Content-Length or by counting', async () => {
      const { driver } = make(() => ({ status: 200, body: 'x'.repeat(100) }));
      await expect(driver.getObjectBuffer('k', 99)).rejects.toBeInstanceOf(StorageObjectTooLargeError);
      const lying = make(() => ({ status: 200, headers: { 'content-length': '10' }, body: 'x'.repeat(100) }));
      await expect(lying.driver.getObjectBuffer('k', 50)).rejects.toBeInstanceOf(StorageObjectTooLargeError);
    });

    it('stat uses HeadObject with checksum mode and decodes a full-object sha256', async () => {
      const body = Buffer.from('hello');
      const { driver, requests } = make((req): CannedResponse => {
        if (req.path.endsWith('/full'))
          return { status: 200, headers: { 'content-length': '5', 'x-amz-checksum-sha256': b64(body), 'x-amz-checksum-type': 'FULL_OBJECT' } };
        if (req.path.endsWith('/plain')) return { status: 200, headers: { 'content-length': '42' } };
        if (req.path.endsWith('/multi'))
          return { status: 200, headers: { 'content-length': '9', 'x-amz-checksum-sha256': `${b64('x')}-3`, 'x-amz-checksum-type': 'COMPOSITE' } };
        return { status: 404 };
      });
      expect(await driver.stat('full')).toEqual({ size: 5, sha256: sha(body) });
      expect(requests[0].method).toBe('HEAD');
      expect(requests[0].headers['x-amz-checksum-mode']).toBe('ENABLED');
      expect(await driver.stat('plain')).toEqual({ size: 42 });
      expect(await driver.stat('multi')).toEqual({ size: 9 });
      expect(await driver.stat('missing')).toBeNull();
    });
  });

  describe('deletes', () => {
    it('deleteObject sends DeleteObject and is idempotent', async () => {
      const { driver, requests } = make(ok({ status: 204 }));
      await driver.deleteObject('users/u1/documents/d1/raw');
      await driver.deleteObject('users/u1/documents/d1/raw');
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'DELETE /docs/users/u1/documents/d1/raw',
        'DELETE /docs/users/u1/documents/d1/raw',
      ]);
      const notFound = make(ok({ status: 404, body: s3ErrorXml('NoSuchKey') }));
      await expect(notFound.driver.deleteObject('k')).resolves.toBeUndefined();
    });

    function listXml(keys: string[], next?: string): string {
      return (
        `<ListBucketResult><Name>docs</Name><Prefix>users/u1/</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
        `<IsTruncated>${next ? 'true' : 'false'}</IsTruncated>${next ? `<NextContinuationToken>${next}</NextContinuationToken>` : ''}` +
        keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join('') +
        `</ListBucketResult>`
      );
    }

    it('deletePrefix pages through ListObjectsV2 and deletes each page with DeleteObjects', async () => {
      const page1 = ['users/u1/documents/d1/raw', 'users/u1/documents/d1/parsed.md'];
      const page2 = ['users/u1/documents/d2/raw'];
      const { driver, requests } = make((req) => {
        if (req.method === 'GET') return { status: 200, body: req.query['continuation-token'] === 'T2' ? listXml(page2) : listXml(page1, 'T2') };
        if (req.method === 'POST' && 'delete' in req.query) return { status: 200, body: '<DeleteResult></DeleteResult>' };
        return { status: 400, body: s3ErrorXml('Unexpected') };
      });
      expect(await driver.deletePrefix('users/u1/')).toBe(3);
      expect(requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET', 'POST']);
      expect(requests[0].query).toMatchObject({ 'list-type': '2', prefix: 'users/u1/', 'max-keys': '1000' });
      expect(requests[2].query['continuation-token']).toBe('T2');
      const del = requests[1];
      const xml = del.body.toString();
      expect(xml).toContain('<Quiet>true</Quiet>');
      for (const k of page1) expect(xml).toContain(`<Key>${k}</Key>`);
      // DeleteObjects requires an integrity header; the SDK adds one
      expect(Object.keys(del.headers).some((h) => h === 'content-md5' || h.startsWith('x-amz-checksum-'))).toBe(true);
      expect(requests[3].body.toString()).toContain('<Key>users/u1/documents/d2/raw</Key>');
    });

    it('deletePrefix with nothing under it sends no DeleteObjects', async () => {
      const { driver, requests } = make(() => ({ status: 200, body: listXml([]) }));
      expect(await driver.deletePrefix('users/none/')).toBe(0);
      expect(requests.map((r) => r.method)).toEqual(['GET']);
    });

    it('deletePrefix fails when DeleteObjects reports per-key errors', async () => {
      const { driver } = make((req) =>
        req.method === 'GET'
          ? { status: 200, body: listXml(['users/u1/a']) }
          : { status: 200, body: '<DeleteResult><Error><Key>users/u1/a</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>' },
      );
      const err = await driver.deletePrefix('users/u1/').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).not.toBeInstanceOf(StorageUnavailableError);
      expect(String(err)).toMatch(/AccessDenied/);
    });

    it('refuses hostile prefixes without a request', async () => {
      const { driver, requests } = make(ok());
      for (const p of ['', '/', '../', 'a/../', '..%2f']) await expect(driver.deletePrefix(p)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      expect(requests).toEqual([]);
    });
  });

  describe('ping and error classification', () => {
    it('ping sends HeadBucket', async () => {
      const { driver, requests } = make(ok());
      await driver.ping();
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['HEAD /docs/']);
    });

    it.each<[string, CannedResponse | Error, new (...a: never[]) => Error, boolean]>([
      ['503 SlowDown', { status: 503, body: s3ErrorXml('SlowDown') }, StorageUnavailableError, true],
      ['500 InternalError', { status: 500, body: s3ErrorXml('InternalError') }, StorageUnavailableError, true],
      ['429', { status: 429 }, StorageUnavailableError, true],
      ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), StorageUnavailableError, true],
      ['socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), StorageUnavailableError, true],
      ['403 (bad credentials)', { status: 403 }, StorageError, false],
      ['404 (no bucket)', { status: 404 }, StorageError, false],
    ])('ping: %s', async (_what, response, cls, transient) => {
      const { driver } = make(() => response);
      const err = await driver.ping().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(cls);
      expect(err instanceof StorageUnavailableError).toBe(transient);
      expect(err).not.toBeInstanceOf(StorageNotFoundError);
    });

    it('transient errors on object calls are StorageUnavailableError, 403 is permanent', async () => {
      const unavailable = make(() => ({ status: 503, body: s3ErrorXml('ServiceUnavailable') }));
      await expect(unavailable.driver.getObject('k')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(unavailable.driver.stat('k')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(unavailable.driver.putObject('k', Buffer.from('x'))).rejects.toBeInstanceOf(StorageUnavailableError);
      const denied = make(() => ({ status: 403, body: s3ErrorXml('AccessDenied') }));
      const err = await denied.driver.getObject('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).not.toBeInstanceOf(StorageUnavailableError);
      expect(err).not.toBeInstanceOf(StorageNotFoundError);
    });

    it('retries transient failures when configured to', async () => {
      let calls = 0;
      const { driver } = make(
        () => (++calls < 3 ? { status: 503, body: s3ErrorXml('SlowDown') } : { status: 200, body: 'ok' }),
        { maxAttempts: 3 },
      );
      expect(await driver.getObjectBuffer('k')).toEqual(Buffer.from('ok'));
      expect(calls).toBe(3);
    }, 20_000);

    it('reads a socket error the SDK wrapped as text (thrown from another realm) as transient', () => {
      const wrapped = new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9');
      expect(mapS3Error(wrapped, 'k')).toBeInstanceOf(StorageUnavailableError);
      expect(mapS3Error(new Error('AWS SDK error wrapper for TimeoutError: socket hang up'), 'k')).toBeInstanceOf(StorageUnavailableError);
      expect(classifyStorageError(mapS3Error(wrapped, 'k') as StorageError)).toMatchObject({ code: 'ECONNREFUSED', service: 'storage' });
      expect(mapS3Error(new Error('AWS SDK error wrapper for something else'), 'k')).not.toBeInstanceOf(StorageUnavailableError);
    });

    it('validates its options', () => {
      expect(() => make(ok(), { bucket: '' })).toThrow(RangeError);
      expect(() => make(ok(), { region: '' })).toThrow(RangeError);
      expect(() => make(ok(), { secretAccessKey: undefined })).toThrow(RangeError);
    });
  });
});

describe('S3StorageDriver behind a ServicePolicy (wire-format tests)', () => {
  const withPolicy = (responder: Responder, threshold = 2) => {
    const policy = new ServicePolicy('storage', {
      maxAttempts: 3,
      initialDelayMs: 1,
      maxDelayMs: 2,
      breaker: { kind: 'consecutive', threshold },
      halfOpenAfterMs: 60_000,
    });
    return { ...make(responder, { policy, maxAttempts: undefined }), policy };
  };

  it('the SDK makes one attempt: the policy retries transient answers (503 SlowDown, 500, 429) and classifies them', async () => {
    for (const [response, code] of [
      [{ status: 503, body: s3ErrorXml('SlowDown') }, 'http_503'],
      [{ status: 500, body: s3ErrorXml('InternalError') }, 'http_500'],
      [{ status: 429 }, 'http_429'],
    ] as const) {
      const { driver, requests } = withPolicy(() => response, 10);
      const err = await driver.getObjectBuffer('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ service: 'storage', code, status: response.status });
      expect((err as Error).cause).toBeInstanceOf(StorageUnavailableError);
      expect(requests).toHaveLength(3);
    }
  });

  it('AccessDenied is permanent: one request, not counted', async () => {
    const { driver, requests, policy } = withPolicy(() => ({ status: 403, body: s3ErrorXml('AccessDenied') }));
    for (let i = 0; i < 3; i++) {
      const err = await driver.stat('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({ service: 'storage', status: 403 });
    }
    expect(requests).toHaveLength(3);
    expect(policy.status()).toMatchObject({ state: 'closed', failures: 0 });
    // per-key errors of DeleteObjects too
    const del = withPolicy((req) =>
      req.method === 'GET'
        ? { status: 200, body: '<ListBucketResult><Name>docs</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>users/u1/a</Key><Size>1</Size></Contents></ListBucketResult>' }
        : { status: 200, body: '<DeleteResult><Error><Key>users/u1/a</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>' },
    );
    await expect(del.driver.deletePrefix('users/u1/')).rejects.toBeInstanceOf(PermanentError);
    expect(del.policy.status().failures).toBe(0);
  });

  it('not found (NoSuchKey, 404 HEAD) is an answer: the driver`s not-found handling, never a failure', async () => {
    const { driver, requests, policy } = withPolicy((req) =>
      req.method === 'HEAD' ? { status: 404 } : { status: 404, body: s3ErrorXml('NoSuchKey') },
    );
    for (let i = 0; i < 5; i++) {
      await expect(driver.stat('k')).resolves.toBeNull();
      await expect(driver.getObject('k')).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(driver.deleteObject('k')).resolves.toBeUndefined();
    }
    expect(requests).toHaveLength(15); // no retries
    expect(policy.status()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('transient failures open the breaker, which then fails fast without a request', async () => {
    const { driver, requests, policy } = withPolicy(() => ({ status: 503, body: s3ErrorXml('SlowDown') }), 2);
    await expect(driver.stat('k')).rejects.toBeInstanceOf(BreakerOpenError);
    expect(policy.status().state).toBe('open');
    const sent = requests.length;
    await expect(driver.putObject('k', Buffer.from('x'))).rejects.toBeInstanceOf(BreakerOpenError);
    await expect(driver.getObject('k')).rejects.toBeInstanceOf(BreakerOpenError);
    expect(requests).toHaveLength(sent);
  });

  it('an object over maxBytes is the caller`s answer, not a failure', async () => {
    const { driver, policy } = withPolicy(() => ({ status: 200, body: 'x'.repeat(100) }));
    await expect(driver.getObjectBuffer('k', 10)).rejects.toBeInstanceOf(StorageObjectTooLargeError);
    expect(policy.status().failures).toBe(0);
  });
});

function r0(requests: CapturedRequest[]): CapturedRequest {
  expect(requests.length).toBeGreaterThan(0);
  return requests[0];
}
