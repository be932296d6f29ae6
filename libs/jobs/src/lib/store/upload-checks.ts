import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { JobError } from '@app/database';
import { PreparedStatement, runPrepared } from '@app/database';
import type { JobState, Stage } from '@app/state-machine';

/** A job waiting for its bytes, with what its upload must be. */
export interface UploadCandidate {
  jobId: string;
  documentId: string;
  userId: string;
  /** The storage key the bytes go to. */
  rawPath: string;
  bytesLen: number;
  /** Lower-case hex. */
  sha256: string;
  /** The upload window (the URL's lifetime) plus the grace period is over. */
  expired: boolean;
  stage: Stage;
  state: JobState;
  lastError: JobError | null;
}

export interface PickUploadChecksOptions {
  /** Jobs picked at most. */
  limit: number;
  /** The first re-check at least this long after a check (ms). */
  minDelayMs: number;
  /** And at most this long (ms): the delay grows with the upload's age (half of it), between the two bounds. */
  maxDelayMs: number;
  /** An upload whose bytes did not arrive by its upload_expires_at plus this (ms) is expired. */
  graceMs: number;
}

interface CandidateRow {
  job_id: string;
  document_id: string;
  user_id: string;
  raw_path: string;
  bytes_len: string | number;
  file_sha256: string;
  expired: boolean;
  stage: Stage;
  state: JobState;
  last_error: JobError | null;
}

const COLUMNS = `j.job_id, j.document_id, j.user_id, d.raw_path, d.bytes_len, d.file_sha256, j.stage, j.state, j.last_error`;
/** No upload_expires_at (never written by the api): the job's creation stands in for it. */
const EXPIRED = `coalesce(j.upload_expires_at, j.created_at) + $G::double precision * interval '1 millisecond' < now()`;
const expired = (param: string): string => EXPIRED.replace('$G', param);

/**
 * The statements of upload confirmation (every statement on the job tables lives in this store):
 *
 * - `pickDue` picks jobs at `uploaded/waiting` whose next check is due (`next_attempt_at` null or past) with
 *   `FOR UPDATE SKIP LOCKED`, and in the same statement pushes their `next_attempt_at` on by the backoff: two workers
 *   never pick the same job, and a worker that dies after picking leaves the job to be checked again at that time.
 *   The backoff grows with the upload's age (half of it, within [min, max]) and never passes the expiry (upload
 *   window + grace), so an abandoned upload is seen soon after it expires. Read over `upload_jobs_due_idx`
 *   (next_attempt_at, state in retryable/waiting).
 * - `byOwner` and `byRawKey` find one job's candidate (for `POST /api/v2/jobs/:id/complete` and bucket events).
 */
@Injectable()
export class UploadChecksStore {
  private readonly byOwnerSql = new PreparedStatement(`
    SELECT ${COLUMNS}, ${expired('$3')} AS expired
    FROM upload_pipeline.upload_jobs j JOIN upload_pipeline.documents d USING (document_id)
    WHERE j.job_id = $1 AND j.user_id = $2`);
  private readonly byRawKeySql = new PreparedStatement(`
    SELECT ${COLUMNS}, ${expired('$3')} AS expired
    FROM upload_pipeline.upload_jobs j JOIN upload_pipeline.documents d USING (document_id)
    WHERE d.document_id = $1 AND d.raw_path = $2`);
  private readonly pickSql = new PreparedStatement(`
    WITH due AS (
      SELECT j.job_id
      FROM upload_pipeline.upload_jobs j
      WHERE j.state = 'waiting' AND j.stage = 'uploaded' AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= now())
      ORDER BY j.next_attempt_at NULLS FIRST
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), upd AS (
      UPDATE upload_pipeline.upload_jobs j
      SET next_attempt_at = least(
            now() + least(greatest((now() - j.created_at) / 2, $2::double precision * interval '1 millisecond'),
                          $3::double precision * interval '1 millisecond'),
            greatest(coalesce(j.upload_expires_at, j.created_at) + $4::double precision * interval '1 millisecond' + interval '1 second',
                     now() + $2::double precision * interval '1 millisecond'))
      FROM due
      WHERE j.job_id = due.job_id
      RETURNING j.job_id, j.document_id, j.user_id, j.stage, j.state, j.last_error, j.upload_expires_at, j.created_at
    )
    SELECT j.job_id, j.document_id, j.user_id, d.raw_path, d.bytes_len, d.file_sha256, j.stage, j.state, j.last_error,
           ${expired('$4')} AS expired
    FROM upd j JOIN upload_pipeline.documents d USING (document_id)`);

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Picks up to `limit` uploads due for a check and schedules their next one (see the class). */
  async pickDue(opts: PickUploadChecksOptions): Promise<UploadCandidate[]> {
    if (!Number.isSafeInteger(opts.limit) || opts.limit < 1) throw new RangeError(`limit must be a positive integer, got ${opts.limit}`);
    const rows = await runPrepared<CandidateRow>(this.ds, this.pickSql, [opts.limit, opts.minDelayMs, opts.maxDelayMs, opts.graceMs]);
    return rows.map(candidate);
  }

  /** The job `jobId` of `userId` (any stage), or null (unknown, another user's). */
  async byOwner(jobId: string, userId: string, graceMs: number): Promise<UploadCandidate | null> {
    const rows = await runPrepared<CandidateRow>(this.ds, this.byOwnerSql, [jobId, userId, graceMs]);
    return rows.length ? candidate(rows[0]) : null;
  }

  /** The job whose document's raw bytes are stored at `key` (`documentId` is the key's document id), or null. */
  async byRawKey(documentId: string, key: string, graceMs: number): Promise<UploadCandidate | null> {
    const rows = await runPrepared<CandidateRow>(this.ds, this.byRawKeySql, [documentId, key, graceMs]);
    return rows.length ? candidate(rows[0]) : null;
  }
}

function candidate(r: CandidateRow): UploadCandidate {
  return {
    jobId: r.job_id,
    documentId: r.document_id,
    userId: r.user_id,
    rawPath: r.raw_path,
    bytesLen: Number(r.bytes_len),
    sha256: r.file_sha256.trim().toLowerCase(),
    expired: r.expired,
    stage: r.stage,
    state: r.state,
    lastError: r.last_error,
  };
}
