import { InvalidStorageKeyError } from './storage.errors';

/** S3's own limit (bytes; keys are ASCII so characters == bytes). */
export const MAX_STORAGE_KEY_LENGTH = 1024;
/** Filesystem NAME_MAX: each segment becomes a file or directory name. */
export const MAX_STORAGE_KEY_SEGMENT_LENGTH = 255;

const KEY_CHARS = /^[A-Za-z0-9._\-/]+$/;
const ID_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

function segmentProblem(segment: string): string | null {
  if (segment === '') return 'empty path segment';
  if (segment === '.' || segment === '..') return `"${segment}" segment`;
  if (segment.length > MAX_STORAGE_KEY_SEGMENT_LENGTH)
    return `segment longer than ${MAX_STORAGE_KEY_SEGMENT_LENGTH} characters`;
  return null;
}

function problem(value: unknown, allowTrailingSlash: boolean): string | null {
  if (typeof value !== 'string') return 'not a string';
  if (value.length === 0) return 'empty';
  if (value.length > MAX_STORAGE_KEY_LENGTH) return `longer than ${MAX_STORAGE_KEY_LENGTH} characters`;
  if (!KEY_CHARS.test(value)) return 'only A-Z a-z 0-9 . _ - / are allowed';
  if (value.startsWith('/')) return 'leading "/"';
  const body = allowTrailingSlash && value.endsWith('/') ? value.slice(0, -1) : value;
  for (const segment of body.split('/')) {
    const p = segmentProblem(segment);
    if (p) return p;
  }
  return null;
}

/**
 * Rules for a key: 1..1024 characters from `A-Z a-z 0-9 . _ - /`; no leading `/`; no empty segment
 * (so no trailing `/` and no `//`); no `.` or `..` segment; each segment at most 255 characters.
 * Percent signs, backslashes, NUL and every other character are refused, so encoded sequences such
 * as `..%2f` can never be decoded into a traversal later.
 */
export function isValidStorageKey(key: unknown): key is string {
  return problem(key, false) === null;
}

/** Returns the key unchanged, or throws InvalidStorageKeyError. */
export function assertValidStorageKey(key: unknown): string {
  const p = problem(key, false);
  if (p) throw new InvalidStorageKeyError(String(key), p);
  return key as string;
}

/** Like a key, but a single trailing `/` is allowed (`users/u1/documents/d1/`). */
export function assertValidStoragePrefix(prefix: unknown): string {
  const p = problem(prefix, true);
  if (p) throw new InvalidStorageKeyError(String(prefix), p);
  return prefix as string;
}

function id(value: string, what: string): string {
  if (!ID_SEGMENT.test(value)) throw new InvalidStorageKeyError(value, `${what} must match ${ID_SEGMENT.source}`);
  return value;
}

/** Builds the keys the pipeline uses. Ids must be 1..128 of `A-Z a-z 0-9 _ -` (UUIDs are). */
export const storageKey = {
  /** `users/<userId>/` */
  userPrefix: (userId: string): string => `users/${id(userId, 'userId')}/`,
  /** `users/<userId>/documents/<documentId>/` */
  documentPrefix: (userId: string, documentId: string): string =>
    `users/${id(userId, 'userId')}/documents/${id(documentId, 'documentId')}/`,
  /** `users/<userId>/documents/<documentId>/raw`: the uploaded bytes. */
  raw: (userId: string, documentId: string): string => `${storageKey.documentPrefix(userId, documentId)}raw`,
  /** `users/<userId>/documents/<documentId>/parsed.md`: the parser's markdown. */
  parsed: (userId: string, documentId: string): string => `${storageKey.documentPrefix(userId, documentId)}parsed.md`,
  /** The ids in a key made by `raw`, or null when the key is not one. */
  parseRaw: (key: string): { userId: string; documentId: string } | null => {
    const m = /^users\/([A-Za-z0-9_-]{1,128})\/documents\/([A-Za-z0-9_-]{1,128})\/raw$/.exec(key);
    return m ? { userId: m[1], documentId: m[2] } : null;
  },
} as const;
