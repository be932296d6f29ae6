import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ServicePolicy } from '@app/circuit-breaker';
import { ClassifiedError } from '@app/errors';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { assertValidStorageKey, assertValidStoragePrefix } from '../storage-key';
import { StorageError, StorageNotFoundError, StorageObjectTooLargeError } from '../storage.errors';
import type { CreateUploadUrlOptions, S3StorageOptions, StorageDriver, StoredObjectInfo, UploadTarget } from '../storage.types';
import { assertUploadOptions, hashStream, readAtMost, toBuffer } from '../stream.util';
import { classifyStorageError, isS3NotFound, isStorageAnswer, mapS3Error } from './s3-errors';

export interface S3StorageDriverOptions extends Omit<S3StorageOptions, 'driver' | 'policy'> {
  /**
   * The `storage` service's policy (retry -> breaker -> timeout) every call to the store goes through; see the class
   * comment. Without it calls go straight to the SDK (tools, the driver's own wire tests).
   */
  policy?: ServicePolicy;
  /** SDK attempts per call (default 1 with a policy, which retries itself; 3 without, the SDK's standard retry). */
  maxAttempts?: number;
  /** Socket idle timeout per request, ms (default 30000). Ignored with a custom requestHandler. */
  requestTimeoutMs?: number;
  /** Connect timeout, ms (default 5000). Ignored with a custom requestHandler. */
  connectionTimeoutMs?: number;
  /** Multipart part size for streamed putObject bodies; >= 5 MiB (S3's minimum). Default 8 MiB. */
  multipartPartSize?: number;
  /** Replaces the SDK's HTTP handler (custom agents, or wire-format tests). */
  requestHandler?: S3ClientConfig['requestHandler'];
  /** Clock used as the presigning date, for tests. */
  now?: () => Date;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DELETE_BATCH = 1000;

/** Headers covered by the presigned PUT's signature: S3 refuses a PUT whose values differ. */
export const S3_UPLOAD_SIGNED_HEADERS: readonly string[] = ['content-length', 'content-type', 'host', 'x-amz-checksum-sha256'];

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * Objects in one S3 (or S3-compatible) bucket.
 *
 * Uploads: `createUploadUrl` presigns a PutObject whose SigV4 signature covers `Content-Length`,
 * `Content-Type` and `x-amz-checksum-sha256` (kept as a header, not hoisted into the query), so S3
 * itself refuses a body of another length, type or sha256. `stat` reads the stored full-object
 * SHA256 checksum when S3 has one (HeadObject with ChecksumMode ENABLED). It has no `receiver`
 * capability: clients PUT to the bucket directly and the api never sees the bytes.
 *
 * With a `policy` (the `storage` ServicePolicy from the BreakerRegistry), every request to the store runs through it:
 * retried while transient, failing fast with BreakerOpenError while the breaker is open, aborted after the policy's
 * timeout. Errors then come out classified: TransientError (network, timeouts, 5xx, 429, SlowDown; the storage error
 * as `cause`), PermanentError (AccessDenied, NoSuchBucket, other 4xx) or BreakerOpenError. Not-found answers stay
 * StorageNotFoundError (or `null` / success where the operation says so) and, like StorageObjectTooLargeError and
 * InvalidStorageKeyError, are answers, never counted as failures. A stream (`getObject`) is guarded while it is
 * opened, not while it is read. Presigning (`createUploadUrl`) is local and `ping` (readiness) bypasses the policy,
 * as the parser's does. Without a policy errors are the StorageError kinds mapS3Error gives.
 */
export class S3StorageDriver implements StorageDriver {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly now: () => Date;
  /** The `storage` policy the calls go through, when there is one (its breaker's state shows in health). */
  readonly policy?: ServicePolicy;

  constructor(opts: S3StorageDriverOptions) {
    if (!opts.bucket) throw new RangeError('S3 bucket is required');
    if (!opts.region) throw new RangeError('S3 region is required');
    if (Boolean(opts.accessKeyId) !== Boolean(opts.secretAccessKey))
      throw new RangeError('S3 accessKeyId and secretAccessKey must be given together');
    this.partSize = opts.multipartPartSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE)
      throw new RangeError(`multipartPartSize must be at least ${MIN_PART_SIZE}`);
    this.bucket = opts.bucket;
    this.now = opts.now ?? (() => new Date());
    this.policy = opts.policy;
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint || undefined,
      forcePathStyle: opts.forcePathStyle ?? false,
      credentials:
        opts.accessKeyId && opts.secretAccessKey
          ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, sessionToken: opts.sessionToken }
          : undefined,
      // With a policy the policy's retry decides (it sees the breaker); the SDK would only multiply the attempts.
      maxAttempts: opts.maxAttempts ?? (opts.policy ? 1 : 3),
      requestHandler: opts.requestHandler ?? {
        requestTimeout: opts.requestTimeoutMs ?? 30_000,
        connectionTimeout: opts.connectionTimeoutMs ?? 5_000,
      },
      // We send our own SHA256 checksums; no automatic CRC32 headers (they would break presigned PUTs).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async createUploadUrl(key: string, opts: CreateUploadUrlOptions): Promise<UploadTarget> {
    assertValidStorageKey(key);
    assertUploadOptions(opts);
    const checksum = hexToBase64(opts.sha256);
    const signingDate = this.now();
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentLength: opts.bytesLen,
      ContentType: opts.contentType,
      ChecksumSHA256: checksum,
    });
    let url: string;
    try {
      url = await getSignedUrl(this.client, command, {
        expiresIn: opts.expiresInSec,
        signingDate,
        signableHeaders: new Set(S3_UPLOAD_SIGNED_HEADERS),
        unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
      });
    } catch (e) {
      throw mapS3Error(e, key);
    }
    return {
      url,
      method: 'PUT',
      headers: { 'Content-Type': opts.contentType, 'x-amz-checksum-sha256': checksum },
      expiresAt: new Date(Math.floor(signingDate.getTime() / 1000) * 1000 + opts.expiresInSec * 1000),
    };
  }

  async putObject(key: string, body: Buffer | Readable, opts: { contentType?: string } = {}): Promise<{ size: number; sha256: string }> {
    assertValidStorageKey(key);
    try {
      if (Buffer.isBuffer(body)) return await this.putSingle(key, body, opts.contentType);
      const parts = fixedSizeParts(body, this.partSize);
      const first = await parts.next();
      if (first.done) return await this.putSingle(key, Buffer.alloc(0), opts.contentType);
      const second = await parts.next();
      if (second.done) return await this.putSingle(key, first.value, opts.contentType);
      return await this.putMultipart(key, [first.value, second.value], parts, opts.contentType);
    } catch (e) {
      throw this.failure(e, key);
    }
  }

  async getObject(key: string): Promise<Readable> {
    assertValidStorageKey(key);
    const out = await this.call(key, (abortSignal) => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
    return asReadable(out.Body, key);
  }

  async getObjectBuffer(key: string, maxBytes?: number): Promise<Buffer> {
    assertValidStorageKey(key);
    const out = await this.call(key, (abortSignal) => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
    try {
      const body = asReadable(out.Body, key);
      if (maxBytes !== undefined && out.ContentLength !== undefined && out.ContentLength > maxBytes) {
        body.destroy();
        throw new StorageObjectTooLargeError(key, maxBytes, out.ContentLength);
      }
      const buf = await readAtMost(body, maxBytes ?? Number.MAX_SAFE_INTEGER);
      if (buf === null) throw new StorageObjectTooLargeError(key, maxBytes ?? Number.MAX_SAFE_INTEGER, undefined);
      return buf;
    } catch (e) {
      throw this.failure(e, key);
    }
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    assertValidStorageKey(key);
    try {
      const out = await this.call(key, (abortSignal) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal }),
      );
      const info: StoredObjectInfo = { size: out.ContentLength ?? 0 };
      const sum = out.ChecksumSHA256;
      // Multipart objects carry a composite checksum ("<b64>-<parts>"), not the sha256 of the bytes.
      if (sum && out.ChecksumType !== 'COMPOSITE' && !sum.includes('-')) {
        const raw = Buffer.from(sum, 'base64');
        if (raw.length === 32) info.sha256 = raw.toString('hex');
      }
      return info;
    } catch (e) {
      if (e instanceof StorageNotFoundError) return null;
      throw e;
    }
  }

  async hashObject(key: string): Promise<{ size: number; sha256: string }> {
    const body = await this.getObject(key);
    try {
      return await hashStream(body);
    } catch (e) {
      throw this.failure(e, key);
    }
  }

  async deleteObject(key: string): Promise<void> {
    assertValidStorageKey(key);
    try {
      await this.call(key, (abortSignal) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
    } catch (e) {
      if (e instanceof StorageNotFoundError) return;
      throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidStoragePrefix(prefix);
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.call(prefix, (abortSignal) =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: DELETE_BATCH }), {
          abortSignal,
        }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length > 0) {
        // Per-key errors fail the call (inside the policy: an InternalError is transient and retried; deleting again is harmless).
        await this.call(prefix, async (abortSignal) => {
          const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }), {
            abortSignal,
          });
          const errors = out.Errors ?? [];
          if (errors.length > 0) {
            const first = errors[0];
            throw Object.assign(new Error(`DeleteObjects failed for ${errors.length} keys, first ${first.Key}: ${first.Code} ${first.Message}`), {
              name: first.Code ?? 'DeleteObjectsError',
            });
          }
        });
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      if (isS3NotFound(e)) throw new StorageError(`S3 bucket ${this.bucket} does not exist`, { cause: e });
      throw mapS3Error(e, `bucket ${this.bucket}`);
    }
  }

  /** Nest lifecycle hook: closes the SDK's sockets. */
  onModuleDestroy(): void {
    this.client.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * One request to the store: through the policy when there is one, else straight. `fn` gets the attempt's signal
   * (pass it to `client.send`). Not-found and the other answers (isStorageAnswer) are returned through the policy as
   * values, so its breaker sees a success (the store answered), and rethrown here.
   */
  private async call<T>(what: string, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const policy = this.policy;
    if (!policy) {
      try {
        return await fn(undefined);
      } catch (e) {
        throw mapS3Error(e, what);
      }
    }
    const out = await policy.execute<{ value: T } | { answer: Error }>(async (signal) => {
      try {
        return { value: await fn(signal) };
      } catch (e) {
        // timed out or aborted by the caller: the policy knows which, and classifies it
        if (signal.aborted) throw e;
        const mapped = mapS3Error(e, what);
        if (isStorageAnswer(mapped)) return { answer: mapped };
        throw mapped instanceof StorageError ? classifyStorageError(mapped) : mapped;
      }
    });
    if ('answer' in out) throw out.answer;
    return out.value;
  }

  /** An error from outside `call` (reading a body, the caller's stream) as this driver throws it. */
  private failure(e: unknown, what: string): Error {
    if (e instanceof ClassifiedError) return e;
    const mapped = mapS3Error(e, what);
    return this.policy && mapped instanceof StorageError && !isStorageAnswer(mapped) ? classifyStorageError(mapped) : mapped;
  }

  private async putSingle(key: string, body: Buffer, contentType: string | undefined): Promise<{ size: number; sha256: string }> {
    const digest = createHash('sha256').update(body).digest();
    await this.call(key, (abortSignal) =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: contentType,
          ChecksumSHA256: digest.toString('base64'),
        }),
        { abortSignal },
      ),
    );
    return { size: body.length, sha256: digest.toString('hex') };
  }

  private async putMultipart(
    key: string,
    firstParts: Buffer[],
    rest: AsyncGenerator<Buffer, void, undefined>,
    contentType: string | undefined,
  ): Promise<{ size: number; sha256: string }> {
    const created = await this.call(key, (abortSignal) =>
      this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, ChecksumAlgorithm: 'SHA256' }),
        { abortSignal },
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new StorageError(`S3 CreateMultipartUpload for ${key} returned no UploadId`);
    const whole = createHash('sha256');
    let size = 0;
    const parts: CompletedPart[] = [];
    const upload = async (part: Buffer): Promise<void> => {
      whole.update(part);
      size += part.length;
      const PartNumber = parts.length + 1;
      const ChecksumSHA256 = createHash('sha256').update(part).digest('base64');
      // one part at a time through the policy: a part is a buffer, so a retry sends it again whole
      const out = await this.call(key, (abortSignal) =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber,
            Body: part,
            ContentLength: part.length,
            ChecksumSHA256,
          }),
          { abortSignal },
        ),
      );
      parts.push({ PartNumber, ETag: out.ETag, ChecksumSHA256 });
    };
    try {
      for (const part of firstParts) await upload(part);
      for await (const part of rest) await upload(part);
      await this.call(key, (abortSignal) =>
        this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal },
        ),
      );
    } catch (e) {
      // best effort, outside the policy (an open breaker must not keep the parts; a lifecycle rule is the backstop)
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw e;
    }
    return { size, sha256: whole.digest('hex') };
  }
}

function asReadable(body: unknown, key: string): Readable {
  if (body instanceof Readable) return body;
  throw new StorageError(`S3 GetObject for ${key} returned no readable body`);
}

/** Splits a stream into parts of exactly `size` bytes (the last may be shorter, never empty unless it is the only one). */
async function* fixedSizeParts(stream: Readable, size: number): AsyncGenerator<Buffer, void, undefined> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  for await (const chunk of stream) {
    let buf = toBuffer(chunk);
    while (pendingLen + buf.length >= size) {
      const take = size - pendingLen;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending, size);
      pending = [];
      pendingLen = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      pending.push(buf);
      pendingLen += buf.length;
    }
  }
  if (pendingLen > 0) yield Buffer.concat(pending, pendingLen);
}
