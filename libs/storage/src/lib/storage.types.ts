import type { Readable } from 'node:stream';
import type { ServicePolicy, ServicePolicyOptions } from '@app/circuit-breaker';
import type { UploadReceiver } from './upload-receiver';

/** Nest injection token for the active {@link StorageDriver}. */
export const STORAGE = Symbol('STORAGE');

/** Nest injection token for the {@link StorageOptions} the module was configured with. */
export const STORAGE_OPTIONS = Symbol('STORAGE_OPTIONS');

/** Where and how a client uploads the bytes of one object. */
export interface UploadTarget {
  url: string;
  method: 'PUT';
  /** Headers the client MUST send with the PUT, exactly as given (they are covered by the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface CreateUploadUrlOptions {
  /** Exact body length; the client's Content-Length must equal it. Positive safe integer. */
  bytesLen: number;
  /** Lowercase (or uppercase) hex sha256 of the exact body, 64 chars. */
  sha256: string;
  /** Content-Type the client must send, e.g. `application/pdf`. */
  contentType: string;
  /** Lifetime of the URL, 1..604800 seconds. */
  expiresInSec: number;
}

export interface StoredObjectInfo {
  size: number;
  /** Lowercase hex sha256, when the backend knows it without reading the bytes. */
  sha256?: string;
}

/**
 * A storage backend. Besides the operations every driver has, a driver may have optional
 * capabilities (members that are present or absent): callers ask for the capability
 * (`if (storage.receiver)`), never for the driver's type or `kind`. More capabilities may join
 * the same way (for example one that confirms uploads made straight to the store).
 */
export interface StorageDriver {
  /** Which backend this is, for health details and logs only; do not branch on it. */
  readonly kind: 'local' | 's3';
  /**
   * Present when the driver receives uploads through the api (its upload URLs point at the api's
   * `UPLOAD_RECEIVER_PATH` route): verifies the signed URL and writes the body with size and
   * sha256 checks. Absent when clients PUT straight to the store (S3).
   */
  readonly receiver?: UploadReceiver;
  /**
   * Present when the driver's calls to a remote store go through a ServicePolicy (the `storage` circuit breaker);
   * absent for a local disk. Health reads its breaker's state.
   */
  readonly policy?: Pick<ServicePolicy, 'name' | 'status'>;
  /** A URL the client PUTs the bytes to; size, sha256 and content type are enforced on receipt. */
  createUploadUrl(key: string, opts: CreateUploadUrlOptions): Promise<UploadTarget>;
  /** Stores the body atomically (readers see the old object or the new one, never a partial one). */
  putObject(key: string, body: Buffer | Readable, opts?: { contentType?: string }): Promise<{ size: number; sha256: string }>;
  /** A stream of the stored bytes. Missing -> StorageNotFoundError. */
  getObject(key: string): Promise<Readable>;
  /** The stored bytes; more than `maxBytes` -> StorageObjectTooLargeError. Missing -> StorageNotFoundError. */
  getObjectBuffer(key: string, maxBytes?: number): Promise<Buffer>;
  /** Size (and sha256 when known) or null when there is no such object. */
  stat(key: string): Promise<StoredObjectInfo | null>;
  /** Streams and hashes the stored bytes. Missing -> StorageNotFoundError. */
  hashObject(key: string): Promise<{ size: number; sha256: string }>;
  /** Idempotent: deleting a missing object succeeds. */
  deleteObject(key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix` (S3 semantics); returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Readiness probe: local root writable / bucket reachable. Throws when not. */
  ping(): Promise<void>;
}

export interface LocalStorageOptions {
  driver: 'local';
  /** Directory that holds every object; created when missing. */
  root: string;
  /** Base URL clients reach the api at, e.g. `http://localhost:8000` (no trailing slash needed). */
  publicBaseUrl: string;
  /** HMAC key for upload URLs; at least 16 characters. */
  signingSecret: string;
}

export interface S3StorageOptions {
  driver: 's3';
  bucket: string;
  region: string;
  /** Custom endpoint for S3-compatible services (MinIO, ...). */
  endpoint?: string;
  /** Path-style addressing (`http://host/bucket/key`), needed by most S3-compatible services. */
  forcePathStyle?: boolean;
  /** Static credentials; when absent the AWS default credential chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /**
   * Options of the `storage` ServicePolicy (retry -> breaker -> timeout) the driver's calls go through, used when this
   * process's BreakerRegistry (CircuitBreakerModule) has no `storage` entry of its own. Defaults: DEFAULT_STORAGE_POLICY.
   */
  policy?: ServicePolicyOptions;
}

export type StorageOptions = LocalStorageOptions | S3StorageOptions;
