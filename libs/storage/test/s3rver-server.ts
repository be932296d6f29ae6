import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real S3 wire server for tests: s3rver (pinned devDependency) on a free port with a temp directory. What s3rver
 * checks and what it does not (3.7.1): it parses SigV4 requests (header and presigned query), requires a known access
 * key (S3RVER/S3RVER) and refuses a presigned URL past X-Amz-Date + X-Amz-Expires (403 AccessDenied "Request has
 * expired"), but it does NOT verify SigV4 signatures ("calculation is unimplemented"), so neither the signed
 * Content-Length, Content-Type nor x-amz-checksum-sha256 is enforced, and it neither verifies nor stores
 * x-amz-checksum-* (HeadObject reports no ChecksumSHA256). It stores bytes, sizes, content types and ETags (MD5), lists,
 * deletes (one and many) and emits `event` (S3-shaped `{ Records: [...] }`) on every created object.
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

interface S3rverInstance extends EventEmitter {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?(): void };
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

export async function startS3rver(bucket = 'docs'): Promise<S3TestServer> {
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = mkdtempSync(join(tmpdir(), 'ingest-s3rver-'));
  let server: S3rverInstance | null = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
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
      const s = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir });
      // the new instance's events reach the same emitter
      s.on('event', (e: unknown) => events.emit('event', e));
      await s.run();
      server = s;
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
