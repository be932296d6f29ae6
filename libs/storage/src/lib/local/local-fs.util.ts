import { randomBytes } from 'node:crypto';
import { fsync, read, write } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidStorageKeyError, StorageError, StorageNotFoundError, StorageUnavailableError } from '../storage.errors';

/**
 * Scratch files (uploads in progress, readiness probes) carry `~` in their names. `~` is not a
 * key character, so no key can ever name, read, overwrite or collide with one.
 */
export const SCRATCH_MARK = '.~';

export function scratchName(kind: 'tmp' | 'ping'): string {
  return `${SCRATCH_MARK}${kind}-${randomBytes(8).toString('hex')}`;
}

export function isScratchName(name: string): boolean {
  return name.includes('~');
}

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

const TRANSIENT = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'EINTR']);

/** Maps a filesystem error on `key` to the storage error classes; unknown errors keep their cause. */
export function mapFsError(e: unknown, key: string): Error {
  if (e instanceof StorageError) return e;
  const code = errnoCode(e);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new StorageNotFoundError(key, { cause: e });
  if (code === 'ELOOP') return new InvalidStorageKeyError(key, 'resolves through a symbolic link');
  if (code && TRANSIENT.has(code)) return new StorageUnavailableError(`local storage ${code} on ${key}`, { cause: e });
  return new StorageError(`local storage failed on ${key}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

export async function ignoreMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Descriptor-level calls through libuv's pool (node:fs/promises has them only on a FileHandle). */
export const fdWrite = promisify(write);
export const fdRead = promisify(read);
export const fdFsync = promisify(fsync);
