import { ApiError } from '@app/http';
import type { UploadCheckResult } from '@app/jobs';

/** The answer of `POST /api/v2/jobs/:id/complete` (and of the older `POST /api/v2/upload/:document_id/complete`). */
export interface UploadCompleteView {
  job_id: string;
  document_id: string;
  /** True when this call confirmed the upload; false when the job had already moved past waiting for its bytes. */
  received: boolean;
  stage: string;
  state: string;
  /** Set when the job is dead-lettered (`upload_mismatch`, `upload_expired`, ...). */
  last_error: { code: string; message: string } | null;
}

/**
 * 200 when the upload was confirmed now or the job had moved on before (idempotent); 409 `upload_missing` while no
 * bytes are stored (the job still waits); 422 `upload_mismatch` / 410 `upload_expired` when this check dead-lettered
 * the job (a repeat then answers 200 with the dead letter).
 */
export function presentUploadCheck(r: UploadCheckResult): UploadCompleteView {
  switch (r.status) {
    case 'missing':
      throw new ApiError(409, 'upload_missing', 'No bytes are stored for this upload yet: PUT them to the signed URL first');
    case 'mismatch':
      throw new ApiError(422, 'upload_mismatch', r.lastError?.message ?? 'The uploaded object is not the declared file', {
        expected: r.expected,
        received: r.stored,
      });
    case 'expired':
      throw new ApiError(410, 'upload_expired', r.lastError?.message ?? 'The upload expired before the bytes arrived');
    case 'confirmed':
    case 'not_waiting':
      return {
        job_id: r.jobId,
        document_id: r.documentId,
        received: r.status === 'confirmed',
        stage: r.stage,
        state: r.state,
        last_error: r.lastError ? { code: r.lastError.code, message: r.lastError.message } : null,
      };
  }
}
