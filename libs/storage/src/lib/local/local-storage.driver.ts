import {
  closeSync,
  constants as fsc,
  createReadStream,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { mkdir, open, readdir, realpath, rmdir, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { assertValidStorageKey, assertValidStoragePrefix } from '../storage-key';
import { InvalidStorageKeyError, StorageNotFoundError, StorageObjectTooLargeError, StorageUnavailableError } from '../storage.errors';
import type { CreateUploadUrlOptions, LocalStorageOptions, StorageDriver, StoredObjectInfo, UploadTarget } from '../storage.types';
import { assertUploadOptions, hashStream, toBuffer } from '../stream.util';
import { UPLOAD_RECEIVER_PATH, type UploadReceiver } from '../upload-receiver';
import { errnoCode, fdFsync, fdRead, fdWrite, ignoreMissing, isScratchName, mapFsError, scratchName } from './local-fs.util';
import { receiveUpload } from './receive-upload';
import { uploadQueryString, verifyUploadSignature } from './upload-signature';

export interface LocalStorageDriverOptions extends Omit<LocalStorageOptions, 'driver'> {
  /** Clock, for tests. */
  now?: () => Date;
}

/** Result of {@link LocalStorageDriver.writeAtomically} (inside the lib only). */
export type AtomicWriteResult =
  | { status: 'committed'; size: number; sha256: string }
  /** `accept` said no; nothing was written. */
  | { status: 'rejected'; size: number; sha256: string }
  /** More than `limit` bytes arrived; reading stopped there and nothing was written. */
  | { status: 'overflow'; size: number };

export interface AtomicWriteOptions {
  /** Stop reading and write nothing as soon as more than this many bytes arrived. */
  limit?: number;
  /** Decides, once all bytes are in, whether they are renamed into place. */
  accept?: (got: { size: number; sha256: string }) => boolean;
}

const WRITE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
const READ_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW;
const MAX_DIR_RACE_RETRIES = 5;

/**
 * Objects as files under one root directory.
 *
 * - Keys are validated (see `assertValidStorageKey`), then mapped segment by segment onto
 *   directories; every existing directory on the way is `lstat`ed and a symbolic link anywhere on
 *   the path is refused (InvalidStorageKeyError), files are opened with O_NOFOLLOW, and the
 *   resolved path is checked to lie inside the root's real path. No key can reach outside the root.
 * - Writes are atomic: a scratch file in the target directory, fsync, rename over the target, fsync
 *   of the directory. Readers see the old bytes or the new bytes, never a mix; scratch files are
 *   removed on every failure path.
 * - Deleting prunes directories left empty, up to (not including) the root.
 * - Metadata calls on the read and write paths (realpath, lstat, mkdir, open, fstat, rename, close) are
 *   synchronous: each is a few microseconds on a local filesystem, where a call through libuv's thread pool
 *   costs about 40 us of CPU in thread hand-offs (decisions #30). Data reads and writes and every fsync stay
 *   asynchronous: they can wait on the disk.
 * - `stat` reports size only (no stored checksum); use `hashObject` for the sha256.
 * - It receives uploads through the api (`receiver`): its upload URLs point at the api's
 *   `UPLOAD_RECEIVER_PATH`, HMAC-signed with `signingSecret`.
 */
export class LocalStorageDriver implements StorageDriver {
  readonly kind = 'local' as const;
  /** Verifies the signed upload URLs this driver hands out (on its clock) and writes their bodies with size and sha256 checks. */
  readonly receiver: UploadReceiver = {
    verify: (params) => verifyUploadSignature(params, this.secret, this.now()),
    receive: (key, body, opts) => receiveUpload(this, key, body, opts),
  };
  private readonly rootDir: string;
  private readonly baseUrl: string;
  private readonly secret: string;
  private readonly now: () => Date;
  private realRoot: Promise<string> | undefined;

  constructor(opts: LocalStorageDriverOptions) {
    if (!opts.root || !isAbsolute(resolve(opts.root))) throw new RangeError('local storage root is required');
    if (!opts.signingSecret || opts.signingSecret.length < 16)
      throw new RangeError('local storage signingSecret must have at least 16 characters');
    const base = new URL(opts.publicBaseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new RangeError('publicBaseUrl must be an http(s) URL');
    this.rootDir = resolve(opts.root);
    this.baseUrl = opts.publicBaseUrl.replace(/\/+$/, '');
    this.secret = opts.signingSecret;
    this.now = opts.now ?? (() => new Date());
  }

  /** The configured root (as given, resolved to absolute). */
  get root(): string {
    return this.rootDir;
  }

  async createUploadUrl(key: string, opts: CreateUploadUrlOptions): Promise<UploadTarget> {
    assertValidStorageKey(key);
    assertUploadOptions(opts);
    const expires = Math.floor(this.now().getTime() / 1000) + opts.expiresInSec;
    const query = uploadQueryString(
      { key, expires, size: opts.bytesLen, sha256: opts.sha256, contentType: opts.contentType },
      this.secret,
    );
    return {
      url: `${this.baseUrl}${UPLOAD_RECEIVER_PATH}?${query}`,
      method: 'PUT',
      headers: { 'Content-Type': opts.contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  async putObject(key: string, body: Buffer | Readable, _opts?: { contentType?: string }): Promise<{ size: number; sha256: string }> {
    const r = await this.writeAtomically(key, body);
    if (r.status !== 'committed') throw new Error('unreachable: unconditional write was not committed');
    return { size: r.size, sha256: r.sha256 };
  }

  async getObject(key: string): Promise<Readable> {
    const { fd } = await this.openForRead(key);
    return createReadStream('', { fd, autoClose: true });
  }

  async getObjectBuffer(key: string, maxBytes?: number): Promise<Buffer> {
    const { fd, size } = await this.openForRead(key);
    try {
      if (maxBytes !== undefined && size > maxBytes) throw new StorageObjectTooLargeError(key, maxBytes, size);
      return await readAll(fd, size);
    } catch (e) {
      throw mapFsError(e, key);
    } finally {
      closeSync(fd);
    }
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    assertValidStorageKey(key);
    const file = await this.resolveKey(key, false);
    if (file === null) return null;
    try {
      const st = lstatSync(file);
      if (st.isSymbolicLink()) throw new InvalidStorageKeyError(key, 'resolves through a symbolic link');
      return st.isFile() ? { size: st.size } : null;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return null;
      throw mapFsError(e, key);
    }
  }

  async hashObject(key: string): Promise<{ size: number; sha256: string }> {
    const stream = await this.getObject(key);
    try {
      return await hashStream(stream);
    } catch (e) {
      throw mapFsError(e, key);
    }
  }

  async deleteObject(key: string): Promise<void> {
    assertValidStorageKey(key);
    const file = await this.resolveKey(key, false);
    if (file === null) return;
    try {
      await unlink(file); // removes a symlink itself, never its target
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
      throw mapFsError(e, key);
    }
    await this.pruneEmptyDirs(join(file, '..'));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidStoragePrefix(prefix);
    const cut = prefix.lastIndexOf('/') + 1;
    const dirPart = prefix.slice(0, cut);
    const namePart = prefix.slice(cut);
    const root = await this.ensureRoot();
    const dir = dirPart === '' ? root : await this.resolveDir(prefix, dirPart.slice(0, -1).split('/'), false);
    if (dir === null) return 0;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return 0;
      throw mapFsError(e, prefix);
    }
    let deleted = 0;
    try {
      for (const entry of entries) {
        if (!entry.name.startsWith(namePart)) continue;
        deleted += await removeTree(join(dir, entry.name), entry);
      }
    } catch (e) {
      throw mapFsError(e, prefix);
    }
    if (dir !== root) await this.pruneEmptyDirs(dir);
    return deleted;
  }

  async ping(): Promise<void> {
    let probe: string | undefined;
    try {
      const root = await this.ensureRoot();
      probe = join(root, scratchName('ping'));
      const handle = await open(probe, WRITE_FLAGS, 0o600);
      try {
        await handle.writeFile('ok');
      } finally {
        await handle.close();
      }
    } catch (e) {
      throw new StorageUnavailableError(
        `local storage root ${this.rootDir} is not writable: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    } finally {
      if (probe) await ignoreMissing(unlink(probe)).catch(() => undefined);
    }
  }

  /**
   * Streams `source` into a scratch file next to the target while counting and hashing, then renames
   * it over the target, unless more than `limit` bytes arrive (reading stops at once) or `accept`
   * refuses the result. Nothing is left behind on any path that does not commit. A Readable source
   * is not destroyed when reading stops early; the caller decides what to do with the rest.
   * Used by `receiver.receive`; outside the lib, write through `putObject` or the receiver.
   */
  async writeAtomically(key: string, source: Buffer | Readable, opts: AtomicWriteOptions = {}): Promise<AtomicWriteResult> {
    assertValidStorageKey(key);
    const { file, tmp, fd } = await this.createScratchFor(key);
    let open = true;
    let committed = false;
    let readFailure: { error: unknown } | undefined;
    const chunks = byteChunks(source);
    try {
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        let step: IteratorResult<Buffer>;
        try {
          step = await chunks.next();
        } catch (e) {
          readFailure = { error: e };
          throw e;
        }
        if (step.done) break;
        size += step.value.length;
        if (opts.limit !== undefined && size > opts.limit) {
          await chunks.return(undefined);
          return { status: 'overflow', size };
        }
        hash.update(step.value);
        await writeAll(fd, step.value);
      }
      const got = { size, sha256: hash.digest('hex') };
      if (opts.accept && !opts.accept(got)) return { status: 'rejected', ...got };
      await fdFsync(fd);
      open = false;
      closeSync(fd);
      await this.commit(key, tmp, file);
      committed = true;
      return { status: 'committed', ...got };
    } catch (e) {
      // Errors of the source (client went away, ...) are the caller's, not storage failures.
      throw readFailure ? readFailure.error : mapFsError(e, key);
    } finally {
      if (open) {
        try {
          closeSync(fd);
        } catch {
          // already reported by the failure being handled
        }
      }
      if (!committed) await ignoreMissing(unlink(tmp)).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private async commit(key: string, tmp: string, file: string): Promise<void> {
    try {
      renameSync(tmp, file);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new InvalidStorageKeyError(key, 'is a prefix of existing keys');
      throw e;
    }
    let dirFd: number;
    try {
      dirFd = openSync(join(file, '..'), fsc.O_RDONLY | fsc.O_DIRECTORY);
    } catch {
      return;
    }
    try {
      await fdFsync(dirFd);
    } catch {
      // the rename is done; a directory that cannot be synced is not an error of this write
    } finally {
      closeSync(dirFd);
    }
  }

  /** Creates the key's directories and an exclusive scratch file in the last one. */
  private async createScratchFor(key: string): Promise<{ file: string; tmp: string; fd: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const file = await this.resolveKey(key, true);
        if (file === null) throw new Error('unreachable: resolveKey(create) returned null');
        const tmp = join(file, '..', scratchName('tmp'));
        return { file, tmp, fd: openSync(tmp, WRITE_FLAGS, 0o644) };
      } catch (e) {
        // A concurrent delete may prune the (then empty) directory between mkdir and open, or the
        // root itself may have been removed: re-create and retry a few times.
        const missing = e instanceof StorageNotFoundError || errnoCode(e) === 'ENOENT';
        if (missing && attempt < MAX_DIR_RACE_RETRIES) {
          this.realRoot = undefined;
          continue;
        }
        throw mapFsError(e, key);
      }
    }
  }

  /** The object's file, open, and its size (from the same descriptor, so of the same file). */
  private async openForRead(key: string): Promise<{ fd: number; size: number }> {
    assertValidStorageKey(key);
    const file = await this.resolveKey(key, false);
    if (file === null) throw new StorageNotFoundError(key);
    let fd: number;
    try {
      fd = openSync(file, READ_FLAGS);
    } catch (e) {
      throw mapFsError(e, key);
    }
    let isFile: boolean;
    let size: number;
    try {
      const st = fstatSync(fd);
      isFile = st.isFile();
      size = st.size;
    } catch (e) {
      closeSync(fd);
      throw mapFsError(e, key);
    }
    if (!isFile) {
      closeSync(fd);
      throw new StorageNotFoundError(key);
    }
    return { fd, size };
  }

  /** Real path of the root, created on first use (a failure is retried on the next call). */
  private ensureRoot(): Promise<string> {
    if (!this.realRoot) {
      this.realRoot = mkdir(this.rootDir, { recursive: true })
        .then(() => realpath(this.rootDir))
        .catch((e: unknown) => {
          this.realRoot = undefined;
          throw mapFsError(e, this.rootDir);
        });
    }
    return this.realRoot;
  }

  /**
   * Absolute file path for a valid key, after checking every parent directory (creating missing
   * ones when `create`). Null when a parent is missing (or not a directory) and `create` is false.
   */
  private async resolveKey(key: string, create: boolean): Promise<string | null> {
    const segments = key.split('/');
    const dir = await this.resolveDir(key, segments.slice(0, -1), create);
    return dir === null ? null : join(dir, segments[segments.length - 1]);
  }

  private async resolveDir(key: string, segments: string[], create: boolean): Promise<string | null> {
    const root = await this.ensureRoot();
    const target = resolve(root, ...segments);
    if (target !== root && !target.startsWith(root + sep)) throw new InvalidStorageKeyError(key, 'escapes the storage root');
    if (target === root) return root;
    // Fast path (isCanonicalDir). Anything else (missing, a link, a file) takes the walk below, which decides.
    if (isCanonicalDir(target)) return target;
    // A new object's directory is usually one level below an existing one (a new document under its user's
    // documents): when the parent passes the same check, only the last segment needs the walk.
    let cur = root;
    let walk = segments;
    if (segments.length > 1) {
      const parent = resolve(root, ...segments.slice(0, -1));
      if (isCanonicalDir(parent)) {
        cur = parent;
        walk = segments.slice(-1);
      }
    }
    for (const segment of walk) {
      cur = join(cur, segment);
      let st = lstatOrMissing(cur, key);
      if (st === undefined) {
        if (!create) return null;
        try {
          mkdirSync(cur, { mode: 0o755 });
        } catch (e) {
          if (errnoCode(e) !== 'EEXIST') throw mapFsError(e, key);
        }
        try {
          st = lstatSync(cur);
        } catch (e) {
          throw mapFsError(e, key);
        }
      }
      if (st.isSymbolicLink()) throw new InvalidStorageKeyError(key, 'resolves through a symbolic link');
      if (!st.isDirectory()) {
        if (!create) return null;
        throw new InvalidStorageKeyError(key, `"${segment}" is an existing object, not a prefix`);
      }
    }
    return cur;
  }

  /** Removes `dir` and its parents while they are empty, stopping below the root. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    const root = await this.ensureRoot();
    let cur = resolve(dir);
    while (cur.startsWith(root + sep)) {
      try {
        await rmdir(cur);
      } catch {
        return; // not empty (or already gone / raced with a writer): stop
      }
      cur = join(cur, '..');
    }
  }
}

/**
 * One call instead of an lstat a segment: the realpath of `<dir>/.` equals `dir` exactly when every segment exists,
 * none is a symbolic link (`dir` is under the canonical root) and the last one is a directory.
 */
function isCanonicalDir(dir: string): boolean {
  try {
    return realpathSync.native(`${dir}${sep}.`) === dir;
  } catch {
    return false;
  }
}

/** lstat of a directory on a key's path; undefined when it (or a parent) is missing. */
function lstatOrMissing(path: string, key: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw mapFsError(e, key);
  }
}

/** Writes all of `buf` at the descriptor's position (fs.write may write less than asked). */
async function writeAll(fd: number, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fdWrite(fd, buf, off, buf.length - off, null)).bytesWritten;
}

/**
 * The file's bytes, given its size from fstat of the same descriptor: one read for most objects (readFile would stat
 * it again and read on to see the end). An object is written once and renamed into place, so it does not change
 * under an open descriptor; one that is shorter than its size says gives what it has, as readFile would.
 */
async function readAll(fd: number, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(size); // its own memory, as readFile's (not a slice of the shared pool)
  let off = 0;
  while (off < size) {
    const { bytesRead } = await fdRead(fd, buf, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off === size ? buf : buf.subarray(0, off);
}

/** Deletes a file or directory tree without following symlinks; returns how many objects it removed. */
async function removeTree(path: string, entry: Dirent): Promise<number> {
  if (entry.isDirectory()) {
    let count = 0;
    const children = (await ignoreMissing(readdir(path, { withFileTypes: true }))) ?? [];
    for (const child of children) count += await removeTree(join(path, child.name), child);
    await rmdir(path).catch((e: unknown) => {
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e; // a writer raced in: keep it
    });
    return count;
  }
  try {
    await unlink(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return 0;
    throw e;
  }
  return entry.isFile() && !isScratchName(entry.name) ? 1 : 0;
}

/** The bytes of a Buffer or Readable; a Readable is not destroyed when the consumer stops early. */
async function* byteChunks(source: Buffer | Readable): AsyncGenerator<Buffer, void, undefined> {
  if (Buffer.isBuffer(source)) {
    yield source;
    return;
  }
  for await (const chunk of source.iterator({ destroyOnReturn: false })) yield toBuffer(chunk);
}
