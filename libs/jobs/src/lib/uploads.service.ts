import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DocumentEntity, UploadJobEntity } from '@app/database';

export interface NewUpload {
  userId: string;
  filename: string;
  mime: string;
  bytesLen: number;
  sha256: string;
  ocr: boolean;
  correlationId: string;
  embedModel: string;
  embedVersion: number;
  uploadExpiresAt: Date;
  /** Builds the storage key for the raw bytes from the new document id. */
  rawKey: (userId: string, documentId: string) => string;
}

export interface UploadRecord {
  document: DocumentEntity;
  job: UploadJobEntity;
  /** False when the same user had already uploaded the same bytes (idempotent answer). */
  created: boolean;
}

/**
 * Creates a document and its job, or returns the existing pair when the user already uploaded a
 * file with the same sha256 (the unique key (user_id, file_sha256) decides, so concurrent identical
 * requests still end with one document).
 */
@Injectable()
export class UploadsService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async createOrGet(u: NewUpload): Promise<UploadRecord> {
    return this.ds.transaction(async (m) => {
      const documentId = (
        (await m.query(`SELECT gen_random_uuid() AS id`)) as { id: string }[]
      )[0].id;
      const inserted = (await m.query(
        `INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path, ocr)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT documents_user_sha_key DO NOTHING
         RETURNING document_id`,
        [documentId, u.userId, u.filename, u.mime, u.bytesLen, u.sha256, u.rawKey(u.userId, documentId), u.ocr],
      )) as { document_id: string }[];

      if (inserted.length) {
        const secret = randomBytes(32).toString('hex');
        const job = (await m.query(
          `WITH j AS (
             INSERT INTO upload_pipeline.upload_jobs
               (document_id, user_id, stage, state, webhook_secret, embed_model, embed_version, correlation_id, upload_expires_at, progress)
             VALUES ($1, $2, 'uploaded', 'waiting', $3, $4, $5, $6, $7, '{"percent":0}'::jsonb)
             RETURNING job_id, document_id, correlation_id
           )
           INSERT INTO upload_pipeline.events (job_id, document_id, event_type, stage, to_state, correlation_id, actor)
           SELECT job_id, document_id, 'stage_started', 'uploaded', 'waiting', correlation_id, 'api' FROM j
           RETURNING job_id`,
          [documentId, u.userId, secret, u.embedModel, u.embedVersion, u.correlationId, u.uploadExpiresAt],
        )) as { job_id: string }[];
        return {
          document: await m.findOneByOrFail(DocumentEntity, { documentId }),
          job: await m.findOneByOrFail(UploadJobEntity, { jobId: job[0].job_id }),
          created: true,
        };
      }

      const document = await m.findOneByOrFail(DocumentEntity, { userId: u.userId, fileSha256: u.sha256 });
      const job = await m.findOneByOrFail(UploadJobEntity, { documentId: document.documentId });
      return { document, job, created: false };
    });
  }

  /**
   * Gives a job that still waits for its bytes a new upload window (the client asked again after the
   * signed URL expired). Returns the new expiry, or null if the job is past waiting.
   */
  async extendUploadWindow(jobId: string, expiresAt: Date): Promise<Date | null> {
    const rows = (await this.ds.query(
      `WITH u AS (
         UPDATE upload_pipeline.upload_jobs SET upload_expires_at = $2, updated_at = now()
         WHERE job_id = $1 AND stage = 'uploaded' AND state = 'waiting' RETURNING upload_expires_at
       ) SELECT upload_expires_at FROM u`,
      [jobId, expiresAt],
    )) as { upload_expires_at: Date }[];
    return rows.length ? rows[0].upload_expires_at : null;
  }
}
