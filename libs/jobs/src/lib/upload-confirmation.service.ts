import { Inject, Injectable, Logger } from '@nestjs/common';
import type { JobError } from '@app/database';
import type { JobState, JobStatus, Stage } from '@app/state-machine';
import { STORAGE, type StorageDriver, storageKey } from '@app/storage';
import { JobTransitionsService } from './store/job-transitions.service';
import { UploadCandidate, UploadChecksStore } from './store/upload-checks';

/** Where a confirmation was asked for (written to the job's event). */
export type UploadCheckSource = 'reconciler' | 'complete' | 'bucket_event';

/**
 * What one check found:
 * - `confirmed`: the bytes are stored as declared; the job moved to `job_validated/queued`;
 * - `mismatch`: an object of another size or sha256 is stored; the job is dead-lettered (`upload_mismatch`);
 * - `expired`: no bytes by the end of the upload window plus the grace period; dead-lettered (`upload_expired`);
 * - `missing`: no bytes yet, the window is open; the job still waits (the reconciler checks again);
 * - `not_waiting`: the job was not waiting for its bytes (any more): nothing checked, nothing changed.
 */
export type UploadCheckStatus = 'confirmed' | 'mismatch' | 'expired' | 'missing' | 'not_waiting';

export interface UploadCheckResult {
  status: UploadCheckStatus;
  jobId: string;
  documentId: string;
  /** Where the job is after the check (as this check left it or found it). */
  stage: Stage;
  state: JobState;
  lastError: JobError | null;
  /** With `mismatch`: what was declared and what is stored. */
  expected?: { size: number; sha256: string };
  stored?: { size: number; sha256?: string };
}

export interface UploadConfirmationOptions {
  /** Grace after an upload's URL expired before it is dead-lettered as `upload_expired` (ms). */
  graceMs: number;
}

export const UPLOAD_CONFIRMATION_OPTIONS = Symbol('UPLOAD_CONFIRMATION_OPTIONS');

export interface ReconcileOptions {
  /** Jobs checked at most in one run. */
  batchSize: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export interface ReconcileResult {
  checked: number;
  counts: Record<UploadCheckStatus, number>;
}

const WAITING: JobStatus = { stage: 'uploaded', state: 'waiting' };

/**
 * Confirms uploads without trusting the client: the one piece of logic behind the worker's reconciler, the owner's
 * `POST /api/v2/jobs/:id/complete` and the bucket-event endpoint. It asks the store what is stored under the job's raw
 * key (`stat`): the declared size and, when the store reports one, the declared sha256; when it does not (an S3
 * multipart object, a store without checksums, the local driver) the stored bytes are hashed. Then:
 * as declared -> `upload_confirmed`; anything else stored -> dead letter `upload_mismatch` (permanent: those bytes
 * will not change into the declared ones); nothing stored and the upload window plus grace over -> dead letter
 * `upload_expired` (and whatever is under the key is removed); nothing stored yet -> the job waits. Every move is the
 * job store's compare-and-set from `uploaded/waiting`, so concurrent checks (a PUT, the reconciler, a complete, an
 * event) move a job once.
 */
@Injectable()
export class UploadConfirmationService {
  private readonly logger = new Logger(UploadConfirmationService.name);

  constructor(
    @Inject(STORAGE) private readonly storage: StorageDriver,
    private readonly store: UploadChecksStore,
    private readonly transitions: JobTransitionsService,
    @Inject(UPLOAD_CONFIRMATION_OPTIONS) private readonly opts: UploadConfirmationOptions,
  ) {}

  /** Checks the owner's job now (`POST /api/v2/jobs/:id/complete`); null when there is no such job of theirs. */
  async checkOwnedJob(jobId: string, userId: string, requestId?: string): Promise<UploadCheckResult | null> {
    if (!UUID.test(jobId) || !UUID.test(userId)) return null;
    const c = await this.store.byOwner(jobId, userId, this.opts.graceMs);
    return c ? this.check(c, 'complete', requestId) : null;
  }

  /**
   * Checks the job whose raw bytes live at `key` (a bucket event); null when the key is not a document's raw key
   * or no job has it.
   */
  async checkStorageKey(key: string, requestId?: string): Promise<UploadCheckResult | null> {
    const ids = storageKey.parseRaw(key);
    if (!ids || !UUID.test(ids.documentId)) return null;
    const c = await this.store.byRawKey(ids.documentId, key, this.opts.graceMs);
    return c ? this.check(c, 'bucket_event', requestId) : null;
  }

  /** One reconciler run: picks the uploads due for a check (SKIP LOCKED) and checks each. A failed check is logged. */
  async reconcileOnce(opts: ReconcileOptions): Promise<ReconcileResult> {
    const due = await this.store.pickDue({ limit: opts.batchSize, minDelayMs: opts.minDelayMs, maxDelayMs: opts.maxDelayMs, graceMs: this.opts.graceMs });
    const counts: Record<UploadCheckStatus, number> = { confirmed: 0, mismatch: 0, expired: 0, missing: 0, not_waiting: 0 };
    for (const c of due) {
      try {
        counts[(await this.check(c, 'reconciler')).status]++;
      } catch (err) {
        // a store outage: the job was rescheduled by the pick, it is checked again then
        this.logger.warn({ msg: 'upload check failed', job_id: c.jobId, err: (err as Error).message });
      }
    }
    return { checked: due.length, counts };
  }

  /** Checks one job's upload (see the class). */
  async check(c: UploadCandidate, source: UploadCheckSource, requestId?: string): Promise<UploadCheckResult> {
    const base = { jobId: c.jobId, documentId: c.documentId };
    if (c.stage !== 'uploaded' || c.state !== 'waiting') return { ...base, status: 'not_waiting', stage: c.stage, state: c.state, lastError: c.lastError };
    const detail = { source, ...(requestId ? { request_id: requestId } : {}) };
    const stat = await this.storage.stat(c.rawPath);
    if (!stat) {
      if (!c.expired) return { ...base, status: 'missing', stage: c.stage, state: c.state, lastError: null };
      const lastError = jobError('upload_expired', 'The upload URL expired before the bytes arrived; upload the file again');
      const t = await this.fail(c, lastError, detail);
      if (t) {
        // an incomplete upload leaves nothing under the key on S3; a partial object of another store goes
        await this.storage.deleteObject(c.rawPath).catch((e: Error) => this.logger.warn({ msg: 'could not remove an expired upload', key: c.rawPath, err: e.message }));
        this.logger.log({ msg: 'upload expired', job_id: c.jobId, document_id: c.documentId, source });
      }
      return this.result(c, t ? 'expired' : 'not_waiting', t?.to, lastError);
    }
    let storedSha = stat.sha256;
    if (stat.size === c.bytesLen && storedSha === undefined) storedSha = (await this.storage.hashObject(c.rawPath)).sha256;
    const stored = { size: stat.size, ...(storedSha !== undefined ? { sha256: storedSha } : {}) };
    const expected = { size: c.bytesLen, sha256: c.sha256 };
    if (stat.size !== c.bytesLen || storedSha !== c.sha256) {
      const what = stat.size !== c.bytesLen ? `${stat.size} bytes are stored, ${c.bytesLen} were declared` : 'the stored bytes do not have the declared sha256';
      const lastError = jobError('upload_mismatch', `The uploaded object is not the declared file: ${what}`);
      const t = await this.fail(c, lastError, { ...detail, expected, stored });
      if (t) this.logger.warn({ msg: 'upload mismatch', job_id: c.jobId, document_id: c.documentId, source, expected, stored });
      return { ...this.result(c, t ? 'mismatch' : 'not_waiting', t?.to, lastError), expected, stored };
    }
    const t = await this.transitions.apply(c.jobId, WAITING, { type: 'upload_confirmed' }, {
      actor: source === 'reconciler' ? 'worker' : 'api',
      nextAttemptAt: null,
      detail: { ...detail, size: stat.size, sha256: storedSha, confirmed_by: source },
    });
    if (t) this.logger.log({ msg: 'upload confirmed', job_id: c.jobId, document_id: c.documentId, bytes: stat.size, source });
    return this.result(c, t ? 'confirmed' : 'not_waiting', t?.to, null);
  }

  private fail(c: UploadCandidate, lastError: JobError, detail: Record<string, unknown>) {
    return this.transitions.apply(c.jobId, WAITING, { type: 'fail_permanent' }, { lastError, nextAttemptAt: null, detail: { ...detail, code: lastError.code } });
  }

  /** The result; a check whose transition found the job moved (null) reports `not_waiting` with the job as it was read. */
  private result(c: UploadCandidate, status: UploadCheckStatus, to: JobStatus | undefined, lastError: JobError | null): UploadCheckResult {
    const at = to ?? c;
    return { status, jobId: c.jobId, documentId: c.documentId, stage: at.stage, state: at.state, lastError: to ? lastError : c.lastError };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function jobError(code: 'upload_expired' | 'upload_mismatch', message: string): JobError {
  return { kind: 'permanent', code, message, stage: 'uploaded', at: new Date().toISOString(), attempts: 0 };
}
