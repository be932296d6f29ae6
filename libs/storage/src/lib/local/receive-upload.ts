import type { Readable } from 'node:stream';
import { SHA256_HEX } from '../stream.util';
import type { ReceiveUploadOptions, ReceiveUploadOutcome } from '../upload-receiver';
import type { LocalStorageDriver } from './local-storage.driver';

/**
 * Receives the body of a signed local upload (the local driver's `receiver.receive`; inside the lib
 * only): streams it into a scratch file beside the target while counting and hashing, stops as soon
 * as it runs past `expectedSize`, and renames it into place only when size and sha256 both match.
 * Any other outcome leaves the stored object (if any) untouched and no scratch file behind.
 * Concurrent uploads to one key each write their own scratch file; the last matching one to finish
 * wins, whole.
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
