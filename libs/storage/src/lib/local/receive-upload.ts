import type { Readable } from 'node:stream';
import { SHA256_HEX } from '../stream.util';
import type { LocalStorageDriver } from './local-storage.driver';

export interface ReceiveUploadOptions {
  /** Declared (signed) body length. */
  expectedSize: number;
  /** Declared (signed) sha256, hex. */
  expectedSha256: string;
  /** Server-side ceiling; a declared size above it is refused before reading a byte. */
  maxBytes?: number;
}

export type ReceiveUploadOutcome =
  | { status: 'ok'; size: number; sha256: string }
  /**
   * The body was shorter or longer than declared. For a longer body reading stops at the first byte
   * past `expected`, so `got` is then a lower bound (`aborted: true`).
   */
  | { status: 'size_mismatch'; expected: number; got: number; aborted: boolean }
  | { status: 'sha256_mismatch'; expected: string; got: string }
  /** The declared size exceeds `maxBytes`; nothing was read. */
  | { status: 'too_large'; limit: number; declared: number };

/**
 * Receives the body of a signed local upload: streams it into a scratch file beside the target
 * while counting and hashing, stops as soon as it runs past `expectedSize`, and renames it into
 * place only when size and sha256 both match. Any other outcome leaves the stored object (if any)
 * untouched and no scratch file behind. Concurrent uploads to one key each write their own scratch
 * file; the last matching one to finish wins, whole.
 *
 * The source stream is never destroyed here (so the route can still answer 413/400 on it); errors
 * of the source are rethrown as they are, after cleanup. Storage failures throw StorageError kinds.
 */
export async function receiveUpload(
  driver: LocalStorageDriver,
  key: string,
  stream: Readable,
  opts: ReceiveUploadOptions,
): Promise<ReceiveUploadOutcome> {
  const { expectedSize, maxBytes } = opts;
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) throw new RangeError('expectedSize must be a non-negative integer');
  if (!SHA256_HEX.test(opts.expectedSha256)) throw new RangeError('expectedSha256 must be 64 hex characters');
  if (maxBytes !== undefined && expectedSize > maxBytes) return { status: 'too_large', limit: maxBytes, declared: expectedSize };
  const expectedSha256 = opts.expectedSha256.toLowerCase();

  const r = await driver.writeAtomically(key, stream, {
    limit: expectedSize,
    accept: (got) => got.size === expectedSize && got.sha256 === expectedSha256,
  });
  switch (r.status) {
    case 'committed':
      return { status: 'ok', size: r.size, sha256: r.sha256 };
    case 'overflow':
      return { status: 'size_mismatch', expected: expectedSize, got: r.size, aborted: true };
    case 'rejected':
      return r.size !== expectedSize
        ? { status: 'size_mismatch', expected: expectedSize, got: r.size, aborted: false }
        : { status: 'sha256_mismatch', expected: expectedSha256, got: r.sha256 };
  }
}
