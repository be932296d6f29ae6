import { Inject, Injectable } from '@nestjs/common';
import { PermanentError } from '@app/circuit-breaker';
import { STORAGE, StorageDriver, StorageNotFoundError } from '@app/storage';
import type { JobContext, StageHandler, StageResult } from '../job-context';

/** job_validated: the stored bytes are there and their size and sha256 are what the client declared. */
@Injectable()
export class ValidateUploadHandler implements StageHandler {
  readonly stages = ['job_validated'] as const;
  /** A re-run reads and hashes the stored bytes again. */
  readonly commitsWithNext = true;

  constructor(@Inject(STORAGE) private readonly storage: StorageDriver) {}

  async run({ document }: JobContext): Promise<StageResult> {
    let stored: { size: number; sha256: string };
    try {
      stored = await this.storage.hashObject(document.rawPath);
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
    return { type: 'advance', detail: { bytes: stored.size } };
  }
}
