import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DocumentEntity, JobEventEntity, UploadJobEntity } from '@app/database';
import { JobState, Stage } from '@app/state-machine';

export interface JobListQuery {
  limit: number;
  cursor?: string;
  state?: JobState;
  stage?: Stage;
}

export interface JobPage {
  items: UploadJobEntity[];
  nextCursor: string | null;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The cursor names the last job of the page; the next page starts below that job's exact
 * (created_at, job_id) as stored (microseconds), which a JavaScript Date could not carry.
 */
export function encodeCursor(id: string): string {
  return Buffer.from(`j:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = raw.startsWith('j:') ? raw.slice(2) : '';
  if (!UUID.test(id)) throw new InvalidCursorError();
  return id;
}

/** Read side for the owner: every query is scoped by user id, so another user's rows are never seen. */
@Injectable()
export class JobsQueryService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async findJob(jobId: string, userId: string): Promise<UploadJobEntity | null> {
    if (!UUID.test(jobId)) return null;
    return this.ds.getRepository(UploadJobEntity).findOneBy({ jobId, userId });
  }

  async findDocument(documentId: string, userId: string): Promise<DocumentEntity | null> {
    if (!UUID.test(documentId)) return null;
    return this.ds.getRepository(DocumentEntity).findOneBy({ documentId, userId });
  }

  async events(jobId: string, limit = 200): Promise<JobEventEntity[]> {
    return this.ds.getRepository(JobEventEntity).find({ where: { jobId }, order: { eventId: 'ASC' }, take: limit });
  }

  /** Newest first, keyset-paginated on (created_at, job_id). */
  async listJobs(userId: string, q: JobListQuery): Promise<JobPage> {
    const qb = this.ds
      .getRepository(UploadJobEntity)
      .createQueryBuilder('j')
      .where('j.user_id = :userId', { userId })
      .orderBy('j.created_at', 'DESC')
      .addOrderBy('j.job_id', 'DESC')
      .take(q.limit + 1);
    if (q.state) qb.andWhere('j.state = :state', { state: q.state });
    if (q.stage) qb.andWhere('j.stage = :stage', { stage: q.stage });
    if (q.cursor) {
      const cid = decodeCursor(q.cursor);
      qb.andWhere(
        '(j.created_at, j.job_id) < (SELECT c.created_at, c.job_id FROM upload_pipeline.upload_jobs c WHERE c.job_id = :cid AND c.user_id = :userId)',
        { cid },
      );
    }
    const rows = await qb.getMany();
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last.jobId) : null };
  }
}
