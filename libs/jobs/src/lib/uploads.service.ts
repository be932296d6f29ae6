import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DocumentEntity, entityColumns, EntityColumns, PreparedStatement, runPrepared, UploadJobEntity } from '@app/database';

type Row = Record<string, unknown>;

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
  private readonly document: EntityColumns<DocumentEntity>;
  private readonly job: EntityColumns<UploadJobEntity>;
  private readonly createSql: PreparedStatement;
  private readonly existingSql: PreparedStatement;
  private readonly byRawPathSql: PreparedStatement;

  constructor(@InjectDataSource() private readonly ds: DataSource) {
    this.document = entityColumns(ds, DocumentEntity, 'd', 'd_');
    this.job = entityColumns(ds, UploadJobEntity, 'j', 'j_');
    // One statement: the document, its job and the job's first event, or nothing when the user already has
    // these bytes (the unique key decides; a concurrent identical request waits for ours, then finds it).
    this.createSql = new PreparedStatement(`
      WITH d AS (
        INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path, ocr)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT ON CONSTRAINT documents_user_sha_key DO NOTHING
        RETURNING *
      ), j AS (
        INSERT INTO upload_pipeline.upload_jobs
          (document_id, user_id, stage, state, webhook_secret, embed_model, embed_version, correlation_id, upload_expires_at, progress)
        SELECT document_id, user_id, 'uploaded', 'waiting', $9, $10, $11, $12, $13, '{"percent":0}'::jsonb FROM d
        RETURNING *
      ), ev AS (
        INSERT INTO upload_pipeline.events (job_id, document_id, event_type, stage, to_state, correlation_id, actor)
        SELECT job_id, document_id, 'stage_started', 'uploaded', 'waiting', correlation_id, 'api' FROM j
      )
      SELECT ${this.document.select}, ${this.job.select} FROM d JOIN j USING (document_id)`);
    this.existingSql = new PreparedStatement(`
      SELECT ${this.document.select}, ${this.job.select}
      FROM upload_pipeline.documents d JOIN upload_pipeline.upload_jobs j USING (document_id)
      WHERE d.user_id = $1 AND d.file_sha256 = $2`);
    this.byRawPathSql = new PreparedStatement(`
      SELECT ${this.document.select}, ${this.job.select}
      FROM upload_pipeline.documents d JOIN upload_pipeline.upload_jobs j USING (document_id)
      WHERE d.document_id = $1 AND d.raw_path = $2`);
  }

  async createOrGet(u: NewUpload): Promise<UploadRecord> {
    // The existing document can be deleted between the two statements: then a fresh insert succeeds.
    for (let attempt = 0; ; attempt++) {
      const found = await this.tryCreateOrGet(u);
      if (found) return found;
      if (attempt >= 2) throw new Error(`document of user ${u.userId} with sha256 ${u.sha256} kept vanishing during the upload request`);
    }
  }

  private async tryCreateOrGet(u: NewUpload): Promise<UploadRecord | null> {
    const documentId = randomUUID();
    const created = await runPrepared<Row>(this.ds, this.createSql, [
      documentId,
      u.userId,
      u.filename,
      u.mime,
      u.bytesLen,
      u.sha256,
      u.rawKey(u.userId, documentId),
      u.ocr,
      randomBytes(32).toString('hex'),
      u.embedModel,
      u.embedVersion,
      u.correlationId,
      u.uploadExpiresAt,
    ]);
    if (created.length) return { ...this.hydrate(created[0]), created: true };
    const existing = await runPrepared<Row>(this.ds, this.existingSql, [u.userId, u.sha256]);
    return existing.length ? { ...this.hydrate(existing[0]), created: false } : null;
  }

  /** The document and job whose raw bytes are stored at `rawPath` (the document id is part of the key). */
  async findByRawPath(documentId: string, rawPath: string): Promise<{ document: DocumentEntity; job: UploadJobEntity } | null> {
    const rows = await runPrepared<Row>(this.ds, this.byRawPathSql, [documentId, rawPath]);
    return rows.length ? this.hydrate(rows[0]) : null;
  }

  private hydrate(r: Row): { document: DocumentEntity; job: UploadJobEntity } {
    return { document: this.document.hydrate(r), job: this.job.hydrate(r) };
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
