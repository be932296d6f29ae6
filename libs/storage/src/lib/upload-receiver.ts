import type { Readable } from 'node:stream';

/**
 * Path of the api route that receives the uploads of a driver with an {@link UploadReceiver}: its
 * upload URLs point there, and the api mounts the route (answering 404 when the driver has none).
 */
export const UPLOAD_RECEIVER_PATH = '/api/v2/storage/upload';

/** What a signed upload URL covers. */
export interface UploadSignatureFields {
  key: string;
  /** Unix seconds after which the URL is refused. */
  expires: number;
  /** Exact body length in bytes. */
  size: number;
  /** Lowercase hex sha256 of the body. */
  sha256: string;
  /** Content-Type header the client sends. */
  contentType: string;
}

/**
 * What the upload route passes in: the query parameters as parsed (`key, expires, size, sha256, sig`,
 * e.g. express `req.query`) plus `contentType`, the request's Content-Type header.
 */
export type UploadSignatureParams = Readonly<Record<string, unknown>>;

export type UploadSignatureCheck =
  | { status: 'ok'; upload: UploadSignatureFields; expiresAt: Date }
  | { status: 'expired'; upload: UploadSignatureFields; expiresAt: Date }
  | { status: 'bad_signature' }
  | { status: 'malformed'; reason: string };

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
 * Capability of a driver that receives uploads through the api (the local driver): its
 * `createUploadUrl` hands out signed URLs to {@link UPLOAD_RECEIVER_PATH}, and the api serves them
 * with this. A driver whose clients PUT straight to the store (S3) has no receiver.
 */
export interface UploadReceiver {
  /**
   * Checks a signed upload URL. Order: shape (`malformed`), then the signature compared in
   * constant time (`bad_signature`), then expiry on the driver's clock (`expired`, only ever
   * reported for authentic URLs). Duplicate parameters (arrays) are malformed.
   */
  verify(params: UploadSignatureParams): UploadSignatureCheck;
  /**
   * Writes the body under `key`, streaming, while counting and hashing it; stops as soon as it runs
   * past `expectedSize` and puts the object in place only when size and sha256 both match. Any other
   * outcome leaves the stored object (if any) untouched. The body stream is never destroyed here (the
   * route may still answer on it); its errors are rethrown as they are. Storage failures throw
   * StorageError kinds; an invalid key throws InvalidStorageKeyError.
   */
  receive(key: string, body: Readable, opts: ReceiveUploadOptions): Promise<ReceiveUploadOutcome>;
}
