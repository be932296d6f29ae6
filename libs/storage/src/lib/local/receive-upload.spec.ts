import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { chunked, endless, failingAfter, listTree, tempDir } from '../../../test/fs-helpers';
import { InvalidStorageKeyError } from '../storage.errors';
import { LocalStorageDriver } from './local-storage.driver';
import { receiveUpload } from './receive-upload';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const KEY = 'users/u1/documents/d1/raw';

let tmp: { dir: string; cleanup: () => Promise<void> };
let driver: LocalStorageDriver;

beforeEach(async () => {
  tmp = await tempDir('recv');
  driver = new LocalStorageDriver({ root: tmp.dir, publicBaseUrl: 'http://h', signingSecret: 'receive-upload-secret-01234' });
});
afterEach(() => tmp.cleanup());

describe('receiveUpload', () => {
  const body = randomBytes(100_000);

  it('stores a matching body and reports size and sha256', async () => {
    const r = await receiveUpload(driver, KEY, chunked(body, 8192), {
      expectedSize: body.length,
      expectedSha256: sha(body).toUpperCase(),
      maxBytes: 1_000_000,
    });
    expect(r).toEqual({ status: 'ok', size: body.length, sha256: sha(body) });
    expect((await readFile(join(tmp.dir, KEY))).equals(body)).toBe(true);
    expect(await listTree(tmp.dir)).toEqual([KEY]);
  });

  it('a short body is a size_mismatch and stores nothing', async () => {
    const r = await receiveUpload(driver, KEY, chunked(body.subarray(0, 99_999), 8192), {
      expectedSize: body.length,
      expectedSha256: sha(body),
    });
    expect(r).toEqual({ status: 'size_mismatch', expected: 100_000, got: 99_999, aborted: false });
    expect(await listTree(tmp.dir)).toEqual([]);
  });

  it('a long body is a size_mismatch, detected at the first extra chunk', async () => {
    const longer = Buffer.concat([body, Buffer.from('x')]);
    const r = await receiveUpload(driver, KEY, chunked(longer, 8192), { expectedSize: body.length, expectedSha256: sha(body) });
    expect(r).toEqual({ status: 'size_mismatch', expected: 100_000, got: 100_001, aborted: true });
    expect(await listTree(tmp.dir)).toEqual([]);
  });

  it('stops reading an endless body right after the declared size and does not destroy the source', async () => {
    const { stream, pulled } = endless(1024);
    const r = await receiveUpload(driver, KEY, stream, { expectedSize: 10_000, expectedSha256: sha(body) });
    expect(r).toMatchObject({ status: 'size_mismatch', expected: 10_000, aborted: true });
    if (r.status !== 'size_mismatch') throw new Error('unreachable');
    expect(r.got).toBeGreaterThan(10_000);
    expect(r.got).toBeLessThan(10_000 + 64 * 1024); // the stream may hand over its whole buffer as one chunk
    expect(pulled()).toBeLessThan(10_000 + 64 * 1024); // at most a buffer's worth of read-ahead
    expect(stream.destroyed).toBe(false);
    stream.destroy();
    expect(await listTree(tmp.dir)).toEqual([]);
  });

  it('same length, other bytes: sha256_mismatch, and an existing object is left as it was', async () => {
    await driver.putObject(KEY, Buffer.from('previous'));
    const other = Buffer.from(body);
    other[500] ^= 0xff;
    const r = await receiveUpload(driver, KEY, chunked(other, 4096), { expectedSize: body.length, expectedSha256: sha(body) });
    expect(r).toEqual({ status: 'sha256_mismatch', expected: sha(body), got: sha(other) });
    expect(await readFile(join(tmp.dir, KEY), 'utf8')).toBe('previous');
    expect(await listTree(tmp.dir)).toEqual([KEY]);
  });

  it('a declared size above maxBytes is too_large before a byte is read', async () => {
    const { stream, pulled } = endless(1024);
    const r = await receiveUpload(driver, KEY, stream, { expectedSize: 2048, expectedSha256: sha(body), maxBytes: 2047 });
    expect(r).toEqual({ status: 'too_large', limit: 2047, declared: 2048 });
    expect(pulled()).toBe(0);
    stream.destroy();
    expect(await listTree(tmp.dir)).toEqual([]);
  });

  it('a body at exactly maxBytes is accepted', async () => {
    const small = body.subarray(0, 2048);
    const r = await receiveUpload(driver, KEY, Readable.from([small]), { expectedSize: 2048, expectedSha256: sha(small), maxBytes: 2048 });
    expect(r.status).toBe('ok');
  });

  it('a failing source rethrows its error and leaves no partial file', async () => {
    const boom = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    await expect(
      receiveUpload(driver, KEY, failingAfter(body.subarray(0, 5000), boom), { expectedSize: body.length, expectedSha256: sha(body) }),
    ).rejects.toBe(boom);
    expect(await listTree(tmp.dir)).toEqual([]);
  });

  it('refuses hostile keys before reading', async () => {
    const { stream, pulled } = endless(1024);
    for (const key of ['../x', '/abs', 'a/../../b', 'a\u0000b', 'a\\b'])
      await expect(receiveUpload(driver, key, stream, { expectedSize: 1, expectedSha256: sha(body) })).rejects.toBeInstanceOf(
        InvalidStorageKeyError,
      );
    expect(pulled()).toBe(0);
    stream.destroy();
  });

  it('validates its options', async () => {
    await expect(receiveUpload(driver, KEY, Readable.from([]), { expectedSize: -1, expectedSha256: sha(body) })).rejects.toBeInstanceOf(RangeError);
    await expect(receiveUpload(driver, KEY, Readable.from([]), { expectedSize: 1, expectedSha256: 'nothex' })).rejects.toBeInstanceOf(RangeError);
  });

  it('concurrent uploads to one key: matching ones succeed, wrong ones fail, the result is whole, nothing partial remains', async () => {
    const wrong = randomBytes(body.length);
    const short = body.subarray(0, 50_000);
    const sources = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? body : i % 3 === 1 ? wrong : short));
    const results = await Promise.all(
      sources.map((src, i) =>
        receiveUpload(driver, KEY, chunked(src, 1000 + i * 777), { expectedSize: body.length, expectedSha256: sha(body) }),
      ),
    );
    results.forEach((r, i) => expect(r.status).toBe(['ok', 'sha256_mismatch', 'size_mismatch'][i % 3]));
    expect((await readFile(join(tmp.dir, KEY))).equals(body)).toBe(true);
    expect(await listTree(tmp.dir)).toEqual([KEY]);
  });

  it('concurrent uploads racing a deletePrefix of their document never fail on a vanished directory', async () => {
    const small = body.subarray(0, 1000);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      work.push(receiveUpload(driver, `users/u1/documents/d${i % 3}/raw`, chunked(small, 100), { expectedSize: 1000, expectedSha256: sha(small) }));
      work.push(driver.deletePrefix(`users/u1/documents/d${i % 3}/`));
    }
    const settled = await Promise.allSettled(work);
    // a delete may remove a scratch file mid-upload (that upload then fails); nothing else may fail
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
    for (const f of failures) expect(String(f)).toMatch(/not found/i);
    expect((await listTree(tmp.dir)).filter((f) => f.includes('~'))).toEqual([]);
  });
});
