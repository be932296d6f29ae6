import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DocumentEntity, entityColumns, EntityColumns, PreparedStatement, runPrepared, UploadJobEntity } from '@app/database';
import { RateLimitHit, rateLimitHitColumns, rateLimitHitOf, rateLimitHitSql, RateLimitRequest } from './store/rate-limit.store';

type Row = Record<string, unknown>;

/** Random bytes for webhook secrets, drawn 128 secrets at a time (as randomUUID buffers its own). */
let secretPool = Buffer.alloc(0);
let secretAt = 0;

/** A new job's webhook secret: 32 random bytes as hex. */
function newWebhookSecret(): string {
  if (secretAt + 32 > secretPool.length) {
    secretPool = randomBytes(32 * 128);
    secretAt = 0;
  }
  secretAt += 32;
  return secretPool.toString('hex', secretAt - 32, secretAt);
}

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

/** What the upload request answers from: the columns of the document and job it reads, not whole entities. */
export interface UploadSummary {
  document: Pick<DocumentEntity, 'documentId' | 'rawPath' | 'bytesLen' | 'fileSha256' | 'mime'>;
  job: Pick<UploadJobEntity, 'jobId' | 'documentId' | 'stage' | 'state' | 'lastError'>;
  /** False when the same user had already uploaded the same bytes (idempotent answer). */
  created: boolean;
}

/** `createOrGetCounted`'s answer: the rate-limit hit, and the upload unless the hit was refused. */
export interface CountedUpload {
  hit: RateLimitHit;
  /** Null when the key is blocked: nothing was created. */
  record: UploadSummary | null;
}

/** The columns of an UploadSummary, from the aliases d (documents) and j (upload_jobs). */
const SUMMARY_COLUMNS = `d.document_id AS s_document_id, d.raw_path AS s_raw_path, d.bytes_len AS s_bytes_len, d.file_sha256 AS s_file_sha256,
  d.mime AS s_mime, j.job_id AS s_job_id, j.stage AS s_stage, j.state AS s_state, j.last_error AS s_last_error`;

function summaryOf(r: Row, created: boolean): UploadSummary {
  const documentId = r['s_document_id'] as string;
  return {
    document: {
      documentId,
      rawPath: r['s_raw_path'] as string,
      // bigint comes back as a string (as DocumentEntity's transformer reads it)
      bytesLen: Number(r['s_bytes_len']),
      fileSha256: r['s_file_sha256'] as string,
      mime: r['s_mime'] as string,
    },
    job: {
      jobId: r['s_job_id'] as string,
      documentId,
      stage: r['s_stage'] as UploadSummary['job']['stage'],
      state: r['s_state'] as UploadSummary['job']['state'],
      lastError: (r['s_last_error'] ?? null) as UploadSummary['job']['lastError'],
    },
    created,
  };
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
  private readonly createCountedSql: PreparedStatement;
  private readonly existingSql: PreparedStatement;
  private readonly existingSummarySql: PreparedStatement;
  private readonly byRawPathSql: PreparedStatement;
  private readonly summaryByRawPathSql: PreparedStatement;

  constructor(@InjectDataSource() private readonly ds: DataSource) {
    this.document = entityColumns(ds, DocumentEntity, 'd', 'd_');
    this.job = entityColumns(ds, UploadJobEntity, 'j', 'j_');
    // One statement (see createSql)
    this.createSql = new PreparedStatement(
      createSql(`VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, `SELECT ${this.document.select}, ${this.job.select} FROM d JOIN j USING (document_id)`),
    );
    // The same with a rate-limit hit in front ($14..$17): the document is inserted only when the hit is not refused,
    // and the one row answers both (the upload's columns null when nothing was created).
    this.createCountedSql = new PreparedStatement(
      createSql(
        `SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM hit WHERE NOT hit.blocked`,
        `SELECT ${rateLimitHitColumns('hit')}, ${SUMMARY_COLUMNS}
         FROM hit LEFT JOIN (d JOIN j USING (document_id)) ON true`,
        `hit AS (${rateLimitHitSql('$14', '$15', '$16', '$17')}), `,
      ),
    );
    this.existingSql = new PreparedStatement(`
      SELECT ${this.document.select}, ${this.job.select}
      FROM upload_pipeline.documents d JOIN upload_pipeline.upload_jobs j USING (document_id)
      WHERE d.user_id = $1 AND d.file_sha256 = $2`);
    this.existingSummarySql = new PreparedStatement(`
      SELECT ${SUMMARY_COLUMNS}
      FROM upload_pipeline.documents d JOIN upload_pipeline.upload_jobs j USING (document_id)
      WHERE d.user_id = $1 AND d.file_sha256 = $2`);
    this.byRawPathSql = new PreparedStatement(`
      SELECT ${this.document.select}, ${this.job.select}
      FROM upload_pipeline.documents d JOIN upload_pipeline.upload_jobs j USING (document_id)
      WHERE d.document_id = $1 AND d.raw_path = $2`);
    this.summaryByRawPathSql = new PreparedStatement(`
      SELECT ${SUMMARY_COLUMNS}
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

  /**
   * `createOrGet` with one hit of a rate limit counted in the same statement (one round trip for both): when the hit
   * is refused nothing is created. The hit counts once, also when the same bytes were already uploaded. The document
   * and job come back as the columns the upload request reads.
   */
  async createOrGetCounted(u: NewUpload, limit: RateLimitRequest): Promise<CountedUpload> {
    const [row] = await runPrepared<Row>(this.ds, this.createCountedSql, [
      ...this.createParams(u),
      limit.key,
      limit.windowMs,
      limit.limit,
      limit.blockMs,
    ]);
    const hit = rateLimitHitOf(row);
    if (hit.isBlocked) return { hit, record: null };
    if (row['s_document_id'] != null) return { hit, record: summaryOf(row, true) };
    const [existing] = await runPrepared<Row>(this.ds, this.existingSummarySql, [u.userId, u.sha256]);
    if (existing) return { hit, record: summaryOf(existing, false) };
    // deleted between the two statements: created afresh (the hit is not counted again)
    return { hit, record: await this.createOrGet(u) };
  }

  private createParams(u: NewUpload): unknown[] {
    const documentId = randomUUID();
    return [
      documentId,
      u.userId,
      u.filename,
      u.mime,
      u.bytesLen,
      u.sha256,
      u.rawKey(u.userId, documentId),
      u.ocr,
      newWebhookSecret(),
      u.embedModel,
      u.embedVersion,
      u.correlationId,
      // as text: the same instant, without node-postgres formatting a Date in local time
      u.uploadExpiresAt.toISOString(),
    ];
  }

  private async tryCreateOrGet(u: NewUpload): Promise<UploadRecord | null> {
    const created = await runPrepared<Row>(this.ds, this.createSql, this.createParams(u));
    if (created.length) return { ...this.hydrate(created[0]), created: true };
    const existing = await runPrepared<Row>(this.ds, this.existingSql, [u.userId, u.sha256]);
    return existing.length ? { ...this.hydrate(existing[0]), created: false } : null;
  }

  /** The document and job whose raw bytes are stored at `rawPath` (the document id is part of the key). */
  async findByRawPath(documentId: string, rawPath: string): Promise<{ document: DocumentEntity; job: UploadJobEntity } | null> {
    const rows = await runPrepared<Row>(this.ds, this.byRawPathSql, [documentId, rawPath]);
    return rows.length ? this.hydrate(rows[0]) : null;
  }

  /** `findByRawPath` as the columns of an UploadSummary (what the upload routes read). */
  async findSummaryByRawPath(documentId: string, rawPath: string): Promise<Omit<UploadSummary, 'created'> | null> {
    const [r] = await runPrepared<Row>(this.ds, this.summaryByRawPathSql, [documentId, rawPath]);
    if (!r) return null;
    const { document, job } = summaryOf(r, false);
    return { document, job };
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

/**
 * One statement: the document (`rows`: its eight values, or a SELECT of them), its job and the job's first event, or
 * nothing when the user already has these bytes (the unique key decides; a concurrent identical request waits for
 * ours, then finds it). `before`: CTEs ahead of the document's insert.
 */
function createSql(rows: string, result: string, before = ''): string {
  return `
      WITH ${before}d AS (
        INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path, ocr)
        ${rows}
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
      ${result}`;
}
