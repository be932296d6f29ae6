import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DocumentEntity, JobEventEntity, UploadJobEntity } from '@app/database';
import { JobState, Stage } from '@app/state-machine';
import { keysetPage } from './keyset-cursor';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    const qb = this.ds.getRepository(UploadJobEntity).createQueryBuilder('j').where('j.user_id = :userId', { userId });
    if (q.state) qb.andWhere('j.state = :state', { state: q.state });
    if (q.stage) qb.andWhere('j.stage = :stage', { stage: q.stage });
    return keysetPage(qb, { alias: 'j', idColumn: 'job_id', idOf: (j) => j.jobId, kind: 'j', limit: q.limit, cursor: q.cursor });
  }
}
