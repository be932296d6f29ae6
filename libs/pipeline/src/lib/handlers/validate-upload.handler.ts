import { Inject, Injectable } from '@nestjs/common';
import { PermanentError } from '@app/errors';
import { sha256Hex, STORAGE, StorageDriver, StorageNotFoundError, StorageObjectTooLargeError } from '@app/storage';
import type { JobContext, StageHandler, StageResult } from '../job-context';

/** Uploads up to this size are read whole and handed to submission in the claim's scratch. */
const IN_MEMORY_MAX_BYTES = 1024 * 1024;

/** Larger than allowed in memory: undefined, so the caller hashes the stream instead. */
function tooLarge(e: unknown): undefined {
  if (e instanceof StorageObjectTooLargeError) return undefined;
  throw e;
}

/** job_validated: the stored bytes are there and their size and sha256 are what the client declared. */
@Injectable()
export class ValidateUploadHandler implements StageHandler {
  readonly stages = ['job_validated'] as const;
  /** A re-run reads and hashes the stored bytes again. */
  readonly commitsWithNext = true;

  constructor(@Inject(STORAGE) private readonly storage: StorageDriver) {}

  async run({ document, scratch }: JobContext): Promise<StageResult> {
    let stored: { size: number; sha256: string };
    let bytes: Buffer | undefined;
    try {
      // A small upload is read whole, hashed, and handed to the next stage (submission), which sends these bytes; a
      // large one is hashed as a stream (submission reads it then). One that is larger than it was declared to be
      // takes the stream too, and fails below.
      bytes = document.bytesLen <= IN_MEMORY_MAX_BYTES ? await this.storage.getObjectBuffer(document.rawPath, IN_MEMORY_MAX_BYTES).catch(tooLarge) : undefined;
      stored = bytes ? { size: bytes.length, sha256: sha256Hex(bytes) } : await this.storage.hashObject(document.rawPath);
    } catch (e) {
      if (e instanceof StorageNotFoundError) throw new PermanentError('uploaded bytes are missing from storage', { code: 'upload_missing', service: 'storage' });
      throw e;
    }
    if (stored.size !== document.bytesLen || stored.sha256 !== document.fileSha256) {
      throw new PermanentError(
        `stored bytes do not match the declaration (size ${stored.size}/${document.bytesLen}, sha256 ${stored.sha256.slice(0, 12)}…/${document.fileSha256.slice(0, 12)}…)`,
        { code: 'upload_mismatch', service: 'storage' },
      );
    }
    scratch.raw = bytes;
    return { type: 'advance', detail: { bytes: stored.size } };
  }
}
