import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DocumentEntity, entityColumns, EntityColumns, JobEventEntity, PreparedStatement, runPrepared, UploadJobEntity } from '@app/database';
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

/** Events returned with a job, oldest first. */
export const JOB_EVENTS_LIMIT = 200;

/** Read side for the owner: every query is scoped by user id, so another user's rows are never seen. */
@Injectable()
export class JobsQueryService {
  private readonly job: EntityColumns<UploadJobEntity>;
  private readonly event: EntityColumns<JobEventEntity>;
  private readonly jobWithEventsSql: PreparedStatement;

  constructor(@InjectDataSource() private readonly ds: DataSource) {
    this.job = entityColumns(ds, UploadJobEntity, 'j', 'j_', { defaultSelectOnly: true }); // not the webhook secret
    this.event = entityColumns(ds, JobEventEntity, 'e', '');
    // the job and its first events in one round trip: the events as a JSON array of their rows (event_id as text,
    // a bigint), read from events_job_idx in order
    this.jobWithEventsSql = new PreparedStatement(
      `SELECT ${this.job.select},
         (SELECT coalesce(jsonb_agg(to_jsonb(e) || jsonb_build_object('event_id', e.event_id::text) ORDER BY e.event_id), '[]'::jsonb)
          FROM (SELECT * FROM upload_pipeline.events WHERE job_id = j.job_id ORDER BY event_id LIMIT ${JOB_EVENTS_LIMIT}) e) AS events
       FROM upload_pipeline.upload_jobs j WHERE j.job_id = $1 AND j.user_id = $2`,
    );
  }

  /** The owner's job with its first JOB_EVENTS_LIMIT events, oldest first; null if not found (or not a uuid). */
  async findJobWithEvents(jobId: string, userId: string): Promise<{ job: UploadJobEntity; events: JobEventEntity[] } | null> {
    if (!UUID.test(jobId) || !UUID.test(userId)) return null;
    const [row] = await runPrepared<Record<string, unknown>>(this.ds, this.jobWithEventsSql, [jobId, userId]);
    if (!row) return null;
    const events = (row['events'] as Record<string, unknown>[]).map((r) => {
      const e = this.event.hydrate(r);
      e.createdAt = new Date(r['created_at'] as string); // JSON holds the timestamp as text (ISO 8601, microseconds)
      return e;
    });
    return { job: this.job.hydrate(row), events };
  }

  async findJob(jobId: string, userId: string): Promise<UploadJobEntity | null> {
    if (!UUID.test(jobId)) return null;
    return this.ds.getRepository(UploadJobEntity).findOneBy({ jobId, userId });
  }

  async findDocument(documentId: string, userId: string): Promise<DocumentEntity | null> {
    if (!UUID.test(documentId)) return null;
    return this.ds.getRepository(DocumentEntity).findOneBy({ documentId, userId });
  }

  async events(jobId: string, limit = JOB_EVENTS_LIMIT): Promise<JobEventEntity[]> {
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
