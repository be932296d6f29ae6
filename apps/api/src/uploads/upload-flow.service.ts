import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError } from '@app/http';
import type { UploadJobEntity } from '@app/database';
import { JobTransitionsService, NewUpload, UploadConfirmationService, UploadsService, UploadSummary } from '@app/jobs';
import type { JobStatus } from '@app/state-machine';
import { STORAGE, StorageDriver, storageKey, UploadSignatureFields } from '@app/storage';
import { API_CONFIG } from '../app.tokens';
import type { ApiConfig } from '../app.config';
import { presentUploadCheck, type UploadCompleteView } from '../jobs/upload-complete.presenter';
import type { UploadHit } from '../security/upload-throttle';
import type { CreateUploadDto, UploadResponse } from './upload.dto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The upload flow: create (or find) the document and job and hand out a signed URL; receive the
 * bytes on that URL, verify size and sha256, and move the job on to `job_validated`.
 */
@Injectable()
export class UploadFlowService {
  private readonly logger = new Logger(UploadFlowService.name);

  constructor(
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly uploads: UploadsService,
    private readonly transitions: JobTransitionsService,
    private readonly confirmation: UploadConfirmationService,
  ) {}

  /** `hit`: the request's upload throttle hit, counted in the upload's statement (a refused one throws the 429). */
  async create(
    userId: string,
    dto: CreateUploadDto,
    correlationId: string,
    hit?: UploadHit,
  ): Promise<{ body: UploadResponse; created: boolean }> {
    if (dto.bytes_len > this.config.UPLOAD_MAX_BYTES) {
      throw new ApiError(400, 'validation_failed', 'Request validation failed', [
        { field: 'bytes_len', messages: [`bytes_len must not be greater than ${this.config.UPLOAD_MAX_BYTES} (UPLOAD_MAX_BYTES)`] },
      ]);
    }
    const ttl = this.config.UPLOAD_URL_TTL_SEC;
    const expiresAt = new Date(Date.now() + ttl * 1000);
    const upload: NewUpload = {
      userId,
      filename: dto.filename,
      mime: dto.mime,
      bytesLen: dto.bytes_len,
      sha256: dto.sha256,
      ocr: dto.ocr ?? false,
      correlationId,
      embedModel: this.config.EMBEDDING_MODEL,
      embedVersion: this.config.EMBEDDING_VERSION,
      uploadExpiresAt: expiresAt,
      rawKey: (u, d) => storageKey.raw(u, d),
    };
    // a refused hit creates nothing and throws: record is never null here
    const rec: UploadSummary = hit
      ? ((await hit.count((limit) => this.uploads.createOrGetCounted(upload, limit))).record as UploadSummary)
      : await this.uploads.createOrGet(upload);

    const { document, job } = rec;
    // The same bytes again after the upload expired: the dead letter goes back to waiting for them, with a new URL.
    if (!rec.created && job.stage === 'uploaded' && job.state === 'deadletter' && job.lastError?.code === 'upload_expired') {
      const t = await this.transitions.apply(
        job.jobId,
        { stage: 'uploaded', state: 'deadletter' },
        { type: 'retry' },
        { lastError: null, nextAttemptAt: null, actor: 'api', detail: { request_id: correlationId, previous_error: job.lastError } },
      );
      if (t) Object.assign(job, { state: t.to.state, lastError: null });
    }
    let signedUrl: string | null = null;
    let headers: Record<string, string> = {};
    let uploadExpiresAt: Date | null = null;
    const waitingForBytes = awaitingBytes(job);
    if (waitingForBytes) {
      // A repeated request for a document still waiting for its bytes gets a fresh URL.
      if (!rec.created) await this.uploads.extendUploadWindow(job.jobId, expiresAt);
      const target = await this.storage.createUploadUrl(document.rawPath, {
        bytesLen: document.bytesLen,
        sha256: document.fileSha256,
        contentType: document.mime,
        expiresInSec: ttl,
      });
      signedUrl = target.url;
      headers = target.headers;
      uploadExpiresAt = target.expiresAt;
    }
    return {
      created: rec.created,
      body: {
        job_id: job.jobId,
        document_id: document.documentId,
        signed_url: signedUrl,
        upload_method: 'PUT',
        upload_headers: headers,
        upload_expires_at: uploadExpiresAt?.toISOString() ?? null,
        deduplicated: !rec.created,
        stage: job.stage,
        state: job.state,
      },
    };
  }

  /**
   * The older confirmation route (`POST /api/v2/upload/:document_id/complete`): the same check as
   * `POST /api/v2/jobs/:id/complete` (UploadConfirmationService), found by the document. Only the owner's document.
   */
  async complete(userId: string, documentId: string, requestId: string): Promise<UploadCompleteView> {
    // the raw key holds the owner's id: another user's document (or an unknown one) is not found. The ids are
    // checked first: a key is built only from valid ones (an overlong id is no key at all)
    const found =
      UUID.test(documentId) && UUID.test(userId) ? await this.uploads.findSummaryByRawPath(documentId, storageKey.raw(userId, documentId)) : null;
    const r = found ? await this.confirmation.checkOwnedJob(found.job.jobId, userId, requestId) : null;
    if (!r) throw new ApiError(404, 'not_found', 'Document not found');
    return presentUploadCheck(r);
  }

  /**
   * Receives the bytes of a signed upload (a storage driver with a `receiver`, the local one). The signature has
   * been checked by the caller; here the declared size and sha256 are enforced while streaming.
   */
  async receive(upload: UploadSignatureFields, body: Readable, requestId: string) {
    const receiver = this.storage.receiver;
    if (!receiver) {
      throw new ApiError(404, 'not_found', 'Uploads go directly to the object store with this storage driver');
    }
    const ids = storageKey.parseRaw(upload.key);
    const found = ids && UUID.test(ids.documentId) ? await this.uploads.findSummaryByRawPath(ids.documentId, upload.key) : null;
    if (!found) throw new ApiError(404, 'not_found', 'No upload is expected for this URL');
    const { document, job } = found;
    if (document.bytesLen !== upload.size || document.fileSha256 !== upload.sha256) {
      throw new ApiError(403, 'invalid_signature', 'The upload URL does not match the document');
    }
    // Already received (a retried PUT): idempotent answer, nothing stored twice.
    if (!awaitingBytes(job)) return answer(job, false);

    const outcome = await receiver.receive(upload.key, body, {
      expectedSize: upload.size,
      expectedSha256: upload.sha256,
      maxBytes: this.config.UPLOAD_MAX_BYTES,
    });
    switch (outcome.status) {
      case 'too_large':
        throw new ApiError(413, 'payload_too_large', `Upload exceeds the limit of ${outcome.limit} bytes`);
      case 'size_mismatch':
        throw new ApiError(422, 'size_mismatch', `Body size does not match the declared bytes_len (${outcome.expected})`, {
          expected: outcome.expected,
          received: outcome.aborted ? `more than ${outcome.expected}` : outcome.got,
        });
      case 'sha256_mismatch':
        throw new ApiError(422, 'sha256_mismatch', 'Body sha256 does not match the declared sha256', {
          expected: outcome.expected,
          received: outcome.got,
        });
      case 'ok':
        break;
    }

    const t = await this.confirm(job.jobId, { size: outcome.size, sha256: outcome.sha256, request_id: requestId });
    this.logger.log({ msg: 'upload received', job_id: job.jobId, document_id: document.documentId, bytes: outcome.size });
    return answer(job, true, t?.to);
  }

  /** The bytes are stored and checked: the job moves on to job_validated (null when something moved it first). */
  private confirm(jobId: string, detail: Record<string, unknown>) {
    return this.transitions.apply(jobId, { stage: 'uploaded', state: 'waiting' }, { type: 'upload_confirmed' }, { actor: 'api', detail });
  }
}

/** The job still waits for its bytes. */
function awaitingBytes(job: Pick<UploadJobEntity, 'stage' | 'state'>): boolean {
  return job.stage === 'uploaded' && job.state === 'waiting';
}

/** The answer to a PUT or a confirmation: the job where `at` says (where it was read, by default). */
function answer(job: UploadSummary['job'], received: boolean, at: JobStatus = job) {
  return { job_id: job.jobId, document_id: job.documentId, received, stage: at.stage, state: at.state };
}
