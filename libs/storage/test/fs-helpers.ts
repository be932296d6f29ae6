import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';

/** A fresh temp directory; `cleanup` removes it. */
export async function tempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `storage-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every non-directory entry under `dir` (files, symlinks, scratch files), relative, sorted. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Every directory under `dir`, relative, sorted. */
export async function listDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** A stream of `data` in chunks of `chunkSize`, yielding to the event loop between chunks. */
export function chunked(data: Buffer, chunkSize: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += chunkSize) {
        await new Promise((r) => setImmediate(r));
        yield data.subarray(i, i + chunkSize);
      }
    })(),
  );
}

/** An endless stream that counts how many bytes were pulled from it. */
export function endless(chunkSize: number): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const stream = new Readable({
    read() {
      pulled += chunkSize;
      this.push(Buffer.alloc(chunkSize, 0x61));
    },
  });
  return { stream, pulled: () => pulled };
}

/** A stream that sends `data` and then fails with `error`. */
export function failingAfter(data: Buffer, error: Error): Readable {
  return Readable.from(
    (async function* () {
      yield data;
      await new Promise((r) => setImmediate(r));
      throw error;
    })(),
  );
}
