import { createHash, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * A real S3 wire server for tests: s3rver (pinned devDependency) on a free port with a temp directory. What s3rver
 * checks and what it does not (3.7.1): it parses SigV4 requests (header and presigned query), requires a known access
 * key (S3RVER/S3RVER) and refuses a presigned URL past X-Amz-Date + X-Amz-Expires (403 AccessDenied "Request has
 * expired"), but it does NOT verify SigV4 signatures ("calculation is unimplemented"), so neither the signed
 * Content-Length, Content-Type nor x-amz-checksum-sha256 is enforced, and it neither verifies nor stores
 * x-amz-checksum-* (HeadObject reports no ChecksumSHA256). It stores bytes, sizes, content types and ETags (MD5), lists,
 * deletes (one and many) and emits `event` (S3-shaped `{ Records: [...] }`) on every created object.
 *
 * One fix on top (see `wholePuts`): S3 makes an object visible whole or not at all; s3rver 3.7.1 writes the bytes in
 * place and answers the PUT before they are all written, so a reader (the upload reconciler, a stage reading what the
 * previous one stored) could see a partial object and a test fail for a store bug S3 does not have.
 */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Emits `event` with an S3 event notification body for each created or deleted object. */
  events: EventEmitter;
  /** s3rver's directory: the bucket's objects live under `<directory>/<bucket>/`. */
  directory: string;
  /** Takes the store down (the server stops listening, open connections are cut); the directory is kept. */
  stop(): Promise<void>;
  /** Brings the store back on the same port and directory (after `stop`). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The parts of s3rver's FilesystemStore (lib/stores/filesystem.js, 3.7.1) that `wholePuts` uses. */
interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}
interface S3rverInstance extends EventEmitter {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  store: S3rverStore;
  httpServer?: { closeAllConnections?(): void };
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

/**
 * Makes a store's PUT atomic, as S3's is. s3rver's own `putObject` creates the object file, pipes the body into it
 * and resolves when the body has been read, not written: its PUT answers 200 while the file may still be short, and a
 * GET or HEAD meanwhile (or just after) sees part of the bytes (measured: 6 of 200 64 KiB PUTs read back short by a
 * racing GET). Here the body goes to a file of its own, fully written before the metadata and the md5 are stored, and
 * is renamed into place last: an object file exists only whole (s3rver answers 404 until it does).
 */
function wholePuts(store: S3rverStore, scratch: string): void {
  store.putObject = async function putObjectWhole(this: S3rverStore, object: S3rverObject) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const part = join(scratch, randomUUID());
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      const body = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
      await pipeline(body, count, createWriteStream(part));
      const digest = md5.digest('hex');
      await this.putMetadata(object.bucket, object.key, object.metadata, digest);
      await rename(part, objectPath);
      return { size, md5: digest };
    } catch (e) {
      await rm(part, { force: true }); // a body cut short, or a failed write: its part file goes
      throw e;
    }
  };
}

export async function startS3rver(bucket = 'docs'): Promise<S3TestServer> {
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = mkdtempSync(join(tmpdir(), 'ingest-s3rver-'));
  const scratch = mkdtempSync(join(tmpdir(), 'ingest-s3rver-parts-'));
  const create = (opts: Record<string, unknown>): S3rverInstance => {
    const s = new S3rver({ address: '127.0.0.1', silent: true, directory: dir, ...opts });
    wholePuts(s.store, scratch);
    return s;
  };
  let server: S3rverInstance | null = create({ port: 0, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const events = server;
  const stop = async (): Promise<void> => {
    if (!server) return;
    const s = server;
    server = null;
    s.httpServer?.closeAllConnections?.();
    await s.close();
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    events,
    directory: dir,
    stop,
    async start() {
      if (server) return;
      const s = create({ port });
      // the new instance's events reach the same emitter
      s.on('event', (e: unknown) => events.emit('event', e));
      await s.run();
      server = s;
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
