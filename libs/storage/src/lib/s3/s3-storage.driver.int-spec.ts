/**
 * The S3 driver against a real S3 wire server (s3rver, started here): the AWS SDK's requests go over HTTP and the
 * server's answers are parsed as they come. See `startS3rver` (@app/testing) for what s3rver checks: it enforces a
 * presigned URL's expiry but not its signature, so a PUT with other bytes or another length is stored, and it is the
 * confirmation's job (size from HeadObject, sha256 by hashing: s3rver reports no checksum) to refuse it. The
 * signature's coverage of Content-Length, Content-Type and x-amz-checksum-sha256 is checked offline in
 * s3-storage.driver.spec.ts (independent SigV4 recomputation).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { startS3rver, type S3TestServer } from '@app/testing';
import { StorageNotFoundError } from '../storage.errors';
import { S3StorageDriver, type S3StorageDriverOptions } from './s3-storage.driver';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('S3StorageDriver against s3rver (a real S3 wire server)', () => {
  let s3: S3TestServer;
  let driver: S3StorageDriver;
  const make = (extra: Partial<S3StorageDriverOptions> = {}) =>
    new S3StorageDriver({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      maxAttempts: 1,
      ...extra,
    });

  beforeAll(async () => {
    s3 = await startS3rver('ingest-test');
    driver = make();
  });
  afterAll(async () => {
    driver?.onModuleDestroy();
    await s3?.close();
  });

  it('ping: the bucket is reachable; another bucket is not', async () => {
    await expect(driver.ping()).resolves.toBeUndefined();
    const other = make({ bucket: 'no-such-bucket' });
    await expect(other.ping()).rejects.toThrow(/does not exist/);
    other.onModuleDestroy();
  });

  it('putObject / getObject / getObjectBuffer / stat / hashObject / deleteObject round trip', async () => {
    const key = 'users/u1/documents/d1/raw';
    const body = Buffer.from('hello object store');
    await expect(driver.putObject(key, body, { contentType: 'text/plain' })).resolves.toEqual({ size: body.length, sha256: sha(body) });
    expect(await driver.getObjectBuffer(key)).toEqual(body);
    const chunks: Buffer[] = [];
    for await (const c of await driver.getObject(key)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(body);
    // s3rver keeps no checksums: the size only (a real S3 also reports the SHA-256 it verified)
    expect(await driver.stat(key)).toEqual({ size: body.length });
    expect(await driver.hashObject(key)).toEqual({ size: body.length, sha256: sha(body) });
    await driver.deleteObject(key);
    expect(await driver.stat(key)).toBeNull();
    await expect(driver.getObjectBuffer(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(driver.deleteObject(key)).resolves.toBeUndefined(); // idempotent
  });

  it('putObject of a stream (single part below the part size)', async () => {
    const key = 'users/u1/documents/d2/parsed.md';
    const body = Buffer.from('# streamed\n'.repeat(100));
    await expect(driver.putObject(key, Readable.from([body.subarray(0, 50), body.subarray(50)]))).resolves.toEqual({ size: body.length, sha256: sha(body) });
    expect(await driver.getObjectBuffer(key)).toEqual(body);
  });

  // s3rver deletes the objects of one DeleteObjects concurrently and then removes their emptied directories, racing
  // itself (a 500 InternalError when two objects share a directory): the SDK's standard retry (3 attempts) covers it.
  it('deletePrefix deletes every object under the prefix and nothing else', async () => {
    const driver = make({ maxAttempts: 3 });
    for (const k of ['users/u2/documents/a/raw', 'users/u2/documents/a/parsed.md', 'users/u2/documents/b/raw', 'users/u3/documents/c/raw']) {
      await driver.putObject(k, Buffer.from(k));
    }
    expect(await driver.deletePrefix('users/u2/documents/a/')).toBe(2);
    expect(await driver.stat('users/u2/documents/a/raw')).toBeNull();
    expect(await driver.stat('users/u2/documents/b/raw')).not.toBeNull();
    expect(await driver.deletePrefix('users/u2/')).toBe(1);
    expect(await driver.stat('users/u3/documents/c/raw')).not.toBeNull();
    expect(await driver.deletePrefix('users/nobody/')).toBe(0);
    driver.onModuleDestroy();
  });

  describe('presigned PUT (createUploadUrl)', () => {
    const body = Buffer.from('%PDF-1.7 the declared bytes');
    const opts = { bytesLen: body.length, sha256: sha(body), contentType: 'application/pdf', expiresInSec: 300 };

    it('the right bytes with exactly the given headers are stored', async () => {
      const key = 'users/u4/documents/ok/raw';
      const target = await driver.createUploadUrl(key, opts);
      const res = await fetch(target.url, { method: target.method, headers: target.headers, body });
      expect(res.status).toBe(200);
      expect(await driver.stat(key)).toEqual({ size: body.length });
      expect(await driver.hashObject(key)).toEqual({ size: body.length, sha256: opts.sha256 });
    });

    it('other bytes of the same length: s3rver stores them (no SigV4 or checksum check); the stored sha256 differs', async () => {
      const key = 'users/u4/documents/tampered/raw';
      const target = await driver.createUploadUrl(key, opts);
      const other = Buffer.from(body);
      other[0] ^= 0xff;
      const res = await fetch(target.url, { method: 'PUT', headers: target.headers, body: other });
      expect(res.status).toBe(200); // real S3 answers 400 BadDigest (x-amz-checksum-sha256) instead
      const stat = await driver.stat(key);
      expect(stat).toEqual({ size: body.length });
      expect((await driver.hashObject(key)).sha256).not.toBe(opts.sha256); // what the confirmation compares
    });

    it('another length: s3rver stores it (the signed Content-Length is not checked); stat reports the other size', async () => {
      const key = 'users/u4/documents/longer/raw';
      const target = await driver.createUploadUrl(key, opts);
      const longer = Buffer.concat([body, Buffer.from('more')]);
      const res = await fetch(target.url, { method: 'PUT', headers: target.headers, body: longer });
      expect(res.status).toBe(200); // real S3 answers 403 SignatureDoesNotMatch (Content-Length is signed)
      expect((await driver.stat(key))?.size).toBe(longer.length);
    });

    it('an expired URL is refused (403 AccessDenied) and nothing is stored', async () => {
      const key = 'users/u4/documents/expired/raw';
      const past = make({ now: () => new Date(Date.now() - 3600_000) });
      const target = await past.createUploadUrl(key, { ...opts, expiresInSec: 60 });
      past.onModuleDestroy();
      expect(target.expiresAt.getTime()).toBeLessThan(Date.now());
      const res = await fetch(target.url, { method: 'PUT', headers: target.headers, body });
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/AccessDenied[\s\S]*expired/);
      expect(await driver.stat(key)).toBeNull();
    });

    it('a created object is announced as an S3-shaped event (what a bucket notification carries)', async () => {
      const key = 'users/u4/documents/event/raw';
      const target = await driver.createUploadUrl(key, opts);
      const seen = new Promise<unknown>((resolve) => s3.events.once('event', resolve));
      await fetch(target.url, { method: 'PUT', headers: target.headers, body });
      const event = (await seen) as { Records: { eventName: string; s3: { bucket: { name: string }; object: { key: string; size: number } } }[] };
      expect(event.Records[0]).toMatchObject({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: s3.bucket }, object: { key, size: body.length } } });
    });
  });
});
