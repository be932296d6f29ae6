import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { chunked, failingAfter, listDirs, listTree, tempDir } from '../../../test/fs-helpers';
import { HOSTILE_KEYS } from '../../../test/hostile-keys';
import { isValidStorageKey } from '../storage-key';
import {
  InvalidStorageKeyError,
  StorageNotFoundError,
  StorageObjectTooLargeError,
  StorageUnavailableError,
} from '../storage.errors';
import { hashStream } from '../stream.util';
import { LocalStorageDriver } from './local-storage.driver';

const SECRET = 'local-driver-secret-0123456789';
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let base: { dir: string; cleanup: () => Promise<void> };
let root: string;
let outside: string;
let driver: LocalStorageDriver;

beforeEach(async () => {
  base = await tempDir('local');
  root = join(base.dir, 'root');
  outside = join(base.dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'top secret');
  driver = new LocalStorageDriver({ root, publicBaseUrl: 'http://localhost:8000', signingSecret: SECRET });
});

afterEach(() => base.cleanup());

async function outsideUntouched(): Promise<void> {
  expect(await listTree(outside)).toEqual(['secret.txt']);
  expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
}

describe('LocalStorageDriver CRUD', () => {
  it('puts, stats, reads, hashes and deletes an object', async () => {
    const key = 'users/u1/documents/d1/raw';
    const body = Buffer.from('hello world');
    expect(driver.kind).toBe('local');
    expect(await driver.stat(key)).toBeNull();

    expect(await driver.putObject(key, body, { contentType: 'text/plain' })).toEqual({ size: 11, sha256: sha(body) });
    expect(await readFile(join(root, key), 'utf8')).toBe('hello world');
    expect(await driver.stat(key)).toEqual({ size: 11 });
    expect(await driver.getObjectBuffer(key)).toEqual(body);
    expect((await hashStream(await driver.getObject(key))).sha256).toBe(sha(body));
    expect(await driver.hashObject(key)).toEqual({ size: 11, sha256: sha(body) });

    await driver.deleteObject(key);
    expect(await driver.stat(key)).toBeNull();
    await expect(driver.getObject(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(driver.getObjectBuffer(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(driver.hashObject(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    // empty directories are pruned, the root stays
    expect(await listDirs(root)).toEqual([]);
    await driver.deleteObject(key); // idempotent
    await driver.deleteObject('never/existed');
  });

  it('puts a Readable, overwrites, and handles an empty object', async () => {
    const big = Buffer.alloc(300_000, 7);
    expect(await driver.putObject('a/b', chunked(big, 65_536))).toEqual({ size: big.length, sha256: sha(big) });
    expect(await driver.getObjectBuffer('a/b')).toEqual(big);
    expect(await driver.putObject('a/b', Buffer.from('v2'))).toEqual({ size: 2, sha256: sha('v2') });
    expect(await driver.getObjectBuffer('a/b', 2)).toEqual(Buffer.from('v2'));
    expect(await driver.putObject('empty', Buffer.alloc(0))).toEqual({ size: 0, sha256: sha('') });
    expect(await driver.stat('empty')).toEqual({ size: 0 });
    expect(await driver.getObjectBuffer('empty')).toEqual(Buffer.alloc(0));
    expect(await listTree(root)).toEqual(['a/b', 'empty']);
  });

  it('getObjectBuffer reads an object of several MiB whole, byte for byte', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 3);
    await driver.putObject('big', bytes);
    const read = await driver.getObjectBuffer('big', bytes.length);
    expect(read.length).toBe(bytes.length);
    expect(sha(read)).toBe(sha(bytes));
  });

  it('getObjectBuffer refuses an object larger than maxBytes', async () => {
    await driver.putObject('k', Buffer.alloc(10));
    await expect(driver.getObjectBuffer('k', 9)).rejects.toBeInstanceOf(StorageObjectTooLargeError);
    expect((await driver.getObjectBuffer('k', 10)).length).toBe(10);
  });

  it('a prefix (directory) is not an object', async () => {
    await driver.putObject('p/q/r', Buffer.from('x'));
    expect(await driver.stat('p/q')).toBeNull();
    await expect(driver.getObject('p/q')).rejects.toBeInstanceOf(StorageNotFoundError);
    await driver.deleteObject('p/q');
    expect(await listTree(root)).toEqual(['p/q/r']);
    expect(await driver.stat('p/q/r/s')).toBeNull(); // a parent that is an object
  });

  it('refuses keys that conflict with existing objects or prefixes', async () => {
    await driver.putObject('x/y', Buffer.from('1'));
    await expect(driver.putObject('x', Buffer.from('2'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(driver.putObject('x/y/z', Buffer.from('3'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
    expect(await listTree(root)).toEqual(['x/y']);
  });

  it('failing source: the error propagates, the old object stays, no scratch file is left', async () => {
    await driver.putObject('doc', Buffer.from('old'));
    const boom = new Error('client went away');
    await expect(driver.putObject('doc', failingAfter(Buffer.alloc(1000, 1), boom))).rejects.toBe(boom);
    expect(await driver.getObjectBuffer('doc')).toEqual(Buffer.from('old'));
    expect(await listTree(root)).toEqual(['doc']);
  });

  it('readers racing an overwrite see the old or the new bytes, never a mix', async () => {
    const a = Buffer.alloc(200_000, 0x61);
    const b = Buffer.alloc(250_000, 0x62);
    await driver.putObject('race', a);
    const writes = Array.from({ length: 10 }, (_, i) => driver.putObject('race', chunked(i % 2 ? a : b, 16_384)));
    const reads = Array.from({ length: 30 }, () => driver.getObjectBuffer('race'));
    const seen = await Promise.all(reads);
    await Promise.all(writes);
    for (const buf of seen) expect(buf.equals(a) || buf.equals(b)).toBe(true);
    expect(await listTree(root)).toEqual(['race']);
  });

  it('closes every descriptor it opens, on every path (written, rejected, overflow, failed, read, streamed, refused)', async () => {
    const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    await driver.putObject('warm/up', Buffer.from('x')); // the root and its real path, once
    const before = await openFds();
    for (let i = 0; i < 20; i++) {
      const key = `fds/d${i}/raw`;
      await driver.putObject(key, Buffer.from(`body ${i}`));
      expect(await driver.writeAtomically(key, Buffer.from('no'), { accept: () => false })).toMatchObject({ status: 'rejected' });
      expect(await driver.writeAtomically(key, Buffer.alloc(100), { limit: 10 })).toMatchObject({ status: 'overflow' });
      await expect(driver.putObject(key, failingAfter(Buffer.alloc(100, 1), new Error('gone')))).rejects.toThrow('gone');
      expect((await driver.getObjectBuffer(key)).toString()).toBe(`body ${i}`);
      await expect(driver.getObjectBuffer(key, 2)).rejects.toBeInstanceOf(StorageObjectTooLargeError);
      await expect(driver.getObjectBuffer(`fds/d${i}`)).rejects.toBeInstanceOf(StorageNotFoundError);
      expect((await hashStream(await driver.getObject(key))).size).toBe(`body ${i}`.length);
      await expect(driver.putObject(`${key}/below`, Buffer.from('z'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
    }
    expect(await openFds()).toBe(before);
    expect(await listTree(join(root, 'fds'))).toHaveLength(20); // no scratch file left either
  });

  it('works when the root itself is reached through a symlink', async () => {
    const real = join(base.dir, 'real-root');
    await mkdir(real);
    await symlink(real, join(base.dir, 'link-root'));
    const d = new LocalStorageDriver({ root: join(base.dir, 'link-root'), publicBaseUrl: 'http://h', signingSecret: SECRET });
    await d.putObject('k/v', Buffer.from('x'));
    expect(await readFile(join(real, 'k/v'), 'utf8')).toBe('x');
  });
});

describe('LocalStorageDriver.deletePrefix', () => {
  beforeEach(async () => {
    for (const k of [
      'users/u1/documents/d1/raw',
      'users/u1/documents/d1/parsed.md',
      'users/u1/documents/d10/raw',
      'users/u1/documents/d2/raw',
      'users/u2/documents/d1/raw',
    ])
      await driver.putObject(k, Buffer.from(k));
  });

  it('deletes a document prefix and prunes it, leaving siblings', async () => {
    expect(await driver.deletePrefix('users/u1/documents/d1/')).toBe(2);
    expect(await listTree(root)).toEqual(['users/u1/documents/d10/raw', 'users/u1/documents/d2/raw', 'users/u2/documents/d1/raw']);
    expect(await listDirs(root)).not.toContain('users/u1/documents/d1');
  });

  it('uses S3 prefix semantics: a partial segment matches every name starting with it', async () => {
    expect(await driver.deletePrefix('users/u1/documents/d1')).toBe(3);
    expect(await listTree(root)).toEqual(['users/u1/documents/d2/raw', 'users/u2/documents/d1/raw']);
  });

  it('deletes a whole user, and everything, and counts 0 for missing prefixes', async () => {
    expect(await driver.deletePrefix('users/u9/')).toBe(0);
    expect(await driver.deletePrefix('nothing')).toBe(0);
    expect(await driver.deletePrefix('users/u1/documents/d1/raw/deeper/')).toBe(0);
    expect(await driver.deletePrefix('users/u1/')).toBe(4);
    expect(await driver.deletePrefix('users/')).toBe(1);
    expect(await listTree(root)).toEqual([]);
    expect(await listDirs(root)).toEqual([]);
  });

  it('removes scratch files under the prefix without counting them', async () => {
    await writeFile(join(root, 'users/u1/documents/d1/.~tmp-0011223344556677'), 'partial');
    expect(await driver.deletePrefix('users/u1/documents/d1/')).toBe(2);
    expect(await listTree(root)).not.toContain('users/u1/documents/d1/.~tmp-0011223344556677');
  });

  it.each(['', '/', '../', 'users/../', 'users//', '..%2f', 'users\\u1'])('refuses prefix %p', async (p) => {
    await expect(driver.deletePrefix(p)).rejects.toBeInstanceOf(InvalidStorageKeyError);
    expect((await listTree(root)).length).toBe(5);
  });
});

describe('LocalStorageDriver path traversal', () => {
  const ops = (d: LocalStorageDriver, key: string): [string, () => Promise<unknown>][] => [
    ['putObject', () => d.putObject(key, Buffer.from('pwned'))],
    ['putObject(stream)', () => d.putObject(key, Readable.from([Buffer.from('pwned')]))],
    ['getObject', () => d.getObject(key)],
    ['getObjectBuffer', () => d.getObjectBuffer(key)],
    ['stat', () => d.stat(key)],
    ['hashObject', () => d.hashObject(key)],
    ['deleteObject', () => d.deleteObject(key)],
    ['createUploadUrl', () => d.createUploadUrl(key, { bytesLen: 1, sha256: sha('x'), contentType: 'text/plain', expiresInSec: 60 })],
    ['writeAtomically', () => d.writeAtomically(key, Buffer.from('pwned'))],
  ];

  it.each(HOSTILE_KEYS.map((k) => [JSON.stringify(k).slice(0, 50), k]))('refuses hostile key %s in every operation', async (_l, key) => {
    // a root nested in `outside`'s parent so that `../outside/secret.txt` style keys would hit it
    for (const [, op] of ops(driver, key)) await expect(op()).rejects.toBeInstanceOf(InvalidStorageKeyError);
    for (const k of [`../outside/secret.txt`, `../../outside/secret.txt`]) {
      for (const [, op] of ops(driver, k)) await expect(op()).rejects.toBeInstanceOf(InvalidStorageKeyError);
    }
    await outsideUntouched();
  });

  it('refuses to go through a directory symlink inside the root that points outside', async () => {
    await mkdir(root, { recursive: true });
    await symlink(outside, join(root, 'evil'));
    for (const key of ['evil/secret.txt', 'evil/new.txt', 'evil/sub/new.txt']) {
      for (const [name, op] of ops(driver, key)) {
        if (name === 'createUploadUrl') continue; // signs a key; does not touch the filesystem
        await expect(op()).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
    }
    await expect(driver.deletePrefix('evil/')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(driver.deletePrefix('evil/secret')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    // a prefix that matches the link's own name removes the link only
    expect(await driver.deletePrefix('ev')).toBe(0);
    await outsideUntouched();
  });

  it('refuses a symlink deeper in the tree, too', async () => {
    await driver.putObject('users/u1/documents/d1/raw', Buffer.from('mine'));
    await symlink(outside, join(root, 'users/u1/documents/d2'));
    await expect(driver.getObject('users/u1/documents/d2/secret.txt')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(driver.putObject('users/u1/documents/d2/raw', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
    expect(await driver.deletePrefix('users/u1/')).toBe(1); // the link is unlinked, its target kept
    await outsideUntouched();
  });

  it('never reads through or writes through a file symlink', async () => {
    await mkdir(root, { recursive: true });
    await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
    await expect(driver.getObject('link.txt')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(driver.getObjectBuffer('link.txt')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(driver.hashObject('link.txt')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    await expect(driver.stat('link.txt')).rejects.toBeInstanceOf(InvalidStorageKeyError);
    // writing replaces the link itself (rename), the target is untouched
    await driver.putObject('link.txt', Buffer.from('replaced'));
    await expect(readlink(join(root, 'link.txt'))).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await readFile(join(root, 'link.txt'), 'utf8')).toBe('replaced');
    await outsideUntouched();
    // deleting a link removes the link only
    await symlink(join(outside, 'secret.txt'), join(root, 'link2.txt'));
    await driver.deleteObject('link2.txt');
    await outsideUntouched();
  });

  it('property: every accepted key lands inside the root; every refused key touches nothing', async () => {
    const realRoot = async (): Promise<string> => realpath(root);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom('a', 'b', '.', '.', '/', '/', '\\', '%', '2', 'f', '-', '_', '\u0000', '~', ' '), minLength: 1, maxLength: 24 }),
        async (key) => {
          await rm(root, { recursive: true, force: true });
          if (!isValidStorageKey(key)) {
            await expect(driver.putObject(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
            await expect(driver.getObject(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
            await outsideUntouched();
            return;
          }
          expect(resolve(root, key).startsWith(root + sep)).toBe(true);
          await driver.putObject(key, Buffer.from(key));
          const files = await listTree(base.dir);
          const r = await realRoot();
          const inRoot = files.filter((f) => resolve(base.dir, f).startsWith(r + sep));
          expect(inRoot).toEqual([join('root', key)]);
          expect(await driver.getObjectBuffer(key)).toEqual(Buffer.from(key));
          await outsideUntouched();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('LocalStorageDriver.ping', () => {
  it('creates a missing root and leaves no probe behind', async () => {
    await driver.ping();
    expect(await listTree(root)).toEqual([]);
  });

  it('fails with StorageUnavailableError when the root cannot be a directory', async () => {
    await writeFile(join(base.dir, 'a-file'), 'x');
    const d = new LocalStorageDriver({ root: join(base.dir, 'a-file'), publicBaseUrl: 'http://h', signingSecret: SECRET });
    await expect(d.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});

describe('LocalStorageDriver construction and upload URLs', () => {
  it('validates its options', () => {
    expect(() => new LocalStorageDriver({ root, publicBaseUrl: 'http://h', signingSecret: 'short' })).toThrow(RangeError);
    expect(() => new LocalStorageDriver({ root, publicBaseUrl: 'ftp://h', signingSecret: SECRET })).toThrow(RangeError);
    expect(() => new LocalStorageDriver({ root, publicBaseUrl: 'not a url', signingSecret: SECRET })).toThrow();
    expect(() => new LocalStorageDriver({ root: '', publicBaseUrl: 'http://h', signingSecret: SECRET })).toThrow(RangeError);
  });

  it.each([
    { bytesLen: 0 },
    { bytesLen: 1.5 },
    { sha256: 'abc' },
    { contentType: '' },
    { contentType: 'text/plain\r\nX-Evil: 1' },
    { expiresInSec: 0 },
    { expiresInSec: 604_801 },
  ])('createUploadUrl refuses %p', async (bad) => {
    await expect(
      driver.createUploadUrl('k', { bytesLen: 1, sha256: sha('x'), contentType: 'text/plain', expiresInSec: 60, ...bad }),
    ).rejects.toBeInstanceOf(RangeError);
  });
});
