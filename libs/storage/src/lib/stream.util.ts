import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('storage streams must carry bytes');
}

/** Reads a stream to its end, counting and hashing the bytes. */
export async function hashStream(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const buf = toBuffer(chunk);
    size += buf.length;
    hash.update(buf);
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Reads a stream into memory. Returns null (and destroys the stream) as soon as it has more than
 * `maxBytes`, so an oversized object is never fully read.
 */
export async function readAtMost(stream: Readable, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = toBuffer(chunk);
    size += buf.length;
    if (size > maxBytes) {
      stream.destroy();
      return null;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

export function assertUploadOptions(opts: {
  bytesLen: number;
  sha256: string;
  contentType: string;
  expiresInSec: number;
}): void {
  if (!Number.isSafeInteger(opts.bytesLen) || opts.bytesLen < 1) throw new RangeError('bytesLen must be a positive integer');
  if (!SHA256_HEX.test(opts.sha256)) throw new RangeError('sha256 must be 64 hex characters');
  if (!isValidContentType(opts.contentType)) throw new RangeError('contentType must be a non-empty header value');
  if (!Number.isSafeInteger(opts.expiresInSec) || opts.expiresInSec < 1 || opts.expiresInSec > 604_800)
    throw new RangeError('expiresInSec must be an integer in 1..604800');
}

/** Printable ASCII, 1..255 characters, no leading/trailing whitespace. */
export function isValidContentType(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/.test(value);
}
