import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { listTree, tempDir } from '../../test/fs-helpers';
import { LocalStorageDriver } from './local/local-storage.driver';
import type { S3StorageDriver } from './s3/s3-storage.driver';
import { createStorageDriver } from './storage.factory';
import { InvalidStorageKeyError } from './storage.errors';
import type { StorageDriver } from './storage.types';
import { UPLOAD_RECEIVER_PATH, type UploadSignatureParams } from './upload-receiver';

const SECRET = 'receiver-capability-secret-0123';
const KEY = 'users/u1/documents/d1/raw';
const BODY = Buffer.from('hello, receiver');
const SHA = createHash('sha256').update(BODY).digest('hex');
const TEXT = 'text/plain';

/** What the api's route hands the receiver: the URL's query plus the request's Content-Type. */
function paramsOf(url: string, contentType = TEXT): UploadSignatureParams {
  return { ...Object.fromEntries(new URL(url).searchParams), contentType };
}

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => (tmp = await tempDir('receiver')));
afterEach(() => tmp.cleanup());

describe('the receiver capability', () => {
  describe('local driver: has it', () => {
    let driver: StorageDriver;
    beforeEach(() => {
      driver = createStorageDriver({ driver: 'local', root: tmp.dir, publicBaseUrl: 'http://api.test:8000', signingSecret: SECRET });
    });
    const uploadUrl = async () => (await driver.createUploadUrl(KEY, { bytesLen: BODY.length, sha256: SHA, contentType: TEXT, expiresInSec: 60 })).url;

    it('its upload URLs point at the receiver route of the api', async () => {
      expect(driver.receiver).toBeDefined();
      const url = new URL(await uploadUrl());
      expect(url.origin + url.pathname).toBe(`http://api.test:8000${UPLOAD_RECEIVER_PATH}`);
    });

    it('verify accepts its own URL with the signed fields, and refuses a tampered one', async () => {
      const url = await uploadUrl();
      const check = driver.receiver?.verify(paramsOf(url));
      expect(check).toMatchObject({ status: 'ok', upload: { key: KEY, size: BODY.length, sha256: SHA, contentType: TEXT } });
      expect(driver.receiver?.verify({ ...paramsOf(url), size: String(BODY.length + 1) })).toEqual({ status: 'bad_signature' });
      expect(driver.receiver?.verify(paramsOf(url, 'application/pdf'))).toEqual({ status: 'bad_signature' });
      expect(driver.receiver?.verify({ ...paramsOf(url), key: '../x' })).toEqual({ status: 'malformed', reason: 'key' });
    });

    it('verify checks the expiry on the driver clock', async () => {
      let now = new Date('2030-01-01T00:00:00Z');
      const clocked = new LocalStorageDriver({ root: tmp.dir, publicBaseUrl: 'http://h', signingSecret: SECRET, now: () => now });
      const target = await clocked.createUploadUrl(KEY, { bytesLen: BODY.length, sha256: SHA, contentType: TEXT, expiresInSec: 60 });
      expect(clocked.receiver.verify(paramsOf(target.url)).status).toBe('ok');
      now = target.expiresAt;
      expect(clocked.receiver.verify(paramsOf(target.url))).toMatchObject({ status: 'expired', expiresAt: target.expiresAt });
    });

    it('receive stores a matching body, and nothing for a wrong one', async () => {
      expect(await driver.receiver?.receive(KEY, Readable.from([BODY]), { expectedSize: BODY.length, expectedSha256: SHA })).toEqual({
        status: 'ok',
        size: BODY.length,
        sha256: SHA,
      });
      expect((await readFile(join(tmp.dir, KEY))).equals(BODY)).toBe(true);

      const other = 'users/u1/documents/d2/raw';
      const wrong = Buffer.from('hello, receiveR');
      expect(await driver.receiver?.receive(other, Readable.from([wrong]), { expectedSize: BODY.length, expectedSha256: SHA })).toMatchObject({
        status: 'sha256_mismatch',
      });
      expect(await driver.receiver?.receive(other, Readable.from([BODY]), { expectedSize: BODY.length, expectedSha256: SHA, maxBytes: 4 })).toEqual({
        status: 'too_large',
        limit: 4,
        declared: BODY.length,
      });
      expect(await listTree(tmp.dir)).toEqual([KEY]);
    });

    it('receive refuses a hostile key', async () => {
      await expect(driver.receiver?.receive('../x', Readable.from([BODY]), { expectedSize: BODY.length, expectedSha256: SHA })).rejects.toBeInstanceOf(
        InvalidStorageKeyError,
      );
    });
  });

  describe('S3 driver: has not (clients PUT to the bucket)', () => {
    it('has no receiver, and its upload URLs do not point at the api', async () => {
      const driver = createStorageDriver({
        driver: 's3',
        bucket: 'b',
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:1',
        forcePathStyle: true,
        accessKeyId: 'a',
        secretAccessKey: 's',
      });
      try {
        expect(driver.receiver).toBeUndefined();
        expect('receiver' in driver).toBe(false);
        const target = await driver.createUploadUrl(KEY, { bytesLen: BODY.length, sha256: SHA, contentType: TEXT, expiresInSec: 60 });
        expect(new URL(target.url).pathname).toBe(`/b/${KEY}`);
      } finally {
        (driver as S3StorageDriver).client.destroy();
      }
    });
  });
});
