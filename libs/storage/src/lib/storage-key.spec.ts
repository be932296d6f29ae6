import fc from 'fast-check';
import { InvalidStorageKeyError } from './storage.errors';
import {
  assertValidStorageKey,
  assertValidStoragePrefix,
  isValidStorageKey,
  MAX_STORAGE_KEY_LENGTH,
  storageKey,
} from './storage-key';
import { HOSTILE_KEYS } from '../../test/hostile-keys';


describe('storage key validation', () => {
  it.each(HOSTILE_KEYS.map((k) => [JSON.stringify(k).slice(0, 60), k]))('refuses %s', (_label, key) => {
    expect(isValidStorageKey(key)).toBe(false);
    expect(() => assertValidStorageKey(key)).toThrow(InvalidStorageKeyError);
  });

  it.each([
    'raw',
    'users/u1/documents/d1/raw',
    'users/u1/documents/d1/parsed.md',
    '...',
    'a/.hidden/..x/x..',
    'A-Z_a-z.0-9',
    [...Array(5).fill('x'.repeat(200)), 'y'.repeat(19)].join('/'), // exactly the maximum length
  ])('accepts %s', (key) => {
    expect(key.length).toBeLessThanOrEqual(MAX_STORAGE_KEY_LENGTH);
    expect(isValidStorageKey(key)).toBe(true);
    expect(assertValidStorageKey(key)).toBe(key);
  });

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 1, ['a'], { key: 'a' }]) expect(isValidStorageKey(v)).toBe(false);
  });

  it('accepts a prefix with one trailing slash, not two, and not an empty prefix', () => {
    expect(assertValidStoragePrefix('users/u1/')).toBe('users/u1/');
    expect(assertValidStoragePrefix('users/u1/docu')).toBe('users/u1/docu');
    for (const p of ['', '/', 'users//', 'users/u1//', '../', 'a/../']) expect(() => assertValidStoragePrefix(p)).toThrow(InvalidStorageKeyError);
  });

  it('error carries the key and the reason', () => {
    try {
      assertValidStorageKey('a/../b');
      throw new Error('no throw');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidStorageKeyError);
      expect((e as InvalidStorageKeyError).key).toBe('a/../b');
      expect((e as InvalidStorageKeyError).reason).toMatch(/\.\./);
    }
  });

  it('property: every accepted key is relative, has only allowed chars and no dot segments', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab./\\-_%\u0000~ Z9'.split('')), maxLength: 40 }), (s) => {
        if (!isValidStorageKey(s)) return;
        expect(s).toMatch(/^[A-Za-z0-9._\-/]+$/);
        expect(s.startsWith('/')).toBe(false);
        for (const seg of s.split('/')) expect(['', '.', '..']).not.toContain(seg);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('storageKey', () => {
  const u = '6f1c2d3e-0000-4000-8000-000000000001';
  const d = '7a1c2d3e-0000-4000-8000-000000000002';

  it('builds the pipeline keys', () => {
    expect(storageKey.raw(u, d)).toBe(`users/${u}/documents/${d}/raw`);
    expect(storageKey.parsed(u, d)).toBe(`users/${u}/documents/${d}/parsed.md`);
    expect(storageKey.documentPrefix(u, d)).toBe(`users/${u}/documents/${d}/`);
    expect(storageKey.userPrefix(u)).toBe(`users/${u}/`);
    expect(isValidStorageKey(storageKey.raw(u, d))).toBe(true);
  });

  it.each(['', '..', '.', 'a/b', 'a\\b', 'x'.repeat(129), 'a.b'])('refuses id %p', (bad) => {
    expect(() => storageKey.raw(bad, d)).toThrow(InvalidStorageKeyError);
    expect(() => storageKey.parsed(u, bad)).toThrow(InvalidStorageKeyError);
  });
});

describe('storageKey.parseRaw', () => {
  const user = '0b6f7e46-1a86-4e1c-9c35-0d3f6b0f1a10';
  const doc = 'a21afcf7-15dc-4b7b-94c2-bcd2d5bce479';

  it('reads back the ids of a key made by raw()', () => {
    expect(storageKey.parseRaw(storageKey.raw(user, doc))).toEqual({ userId: user, documentId: doc });
  });

  it.each([
    storageKey.parsed(user, doc),
    `users/${user}/documents/${doc}/raw/extra`,
    `users/${user}/documents/${doc}/`,
    `x/users/${user}/documents/${doc}/raw`,
    `users/../documents/${doc}/raw`,
    `users/${user}/documents/${doc}/raw\n`,
    '',
  ])('is null for %j', (key) => {
    expect(storageKey.parseRaw(key)).toBeNull();
  });
});
