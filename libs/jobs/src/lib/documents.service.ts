import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { DocumentEntity, JobEventEntity, UploadJobEntity } from '@app/database';
import { STORAGE, StorageDriver, storageKey } from '@app/storage';
import { JobsQueryService } from './jobs-query.service';
import { keysetPage } from './keyset-cursor';

export interface DocumentWithJob {
  document: DocumentEntity;
  /** Every document has its job; null only if it vanished between two reads. */
  job: UploadJobEntity | null;
}

export interface DocumentDetail extends DocumentWithJob {
  events: JobEventEntity[];
}

export interface DocumentPage {
  items: DocumentWithJob[];
  nextCursor: string | null;
}

/** The owner's documents: list, read with the job and its events, delete with everything derived from them. */
@Injectable()
export class DocumentsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(STORAGE) private readonly storage: StorageDriver,
    private readonly query: JobsQueryService,
  ) {}

  /** Newest first, keyset-paginated on (created_at, document_id). */
  async list(userId: string, q: { limit: number; cursor?: string }): Promise<DocumentPage> {
    const qb = this.ds.getRepository(DocumentEntity).createQueryBuilder('d').where('d.user_id = :userId', { userId });
    const page = await keysetPage(qb, { alias: 'd', idColumn: 'document_id', idOf: (d) => d.documentId, kind: 'd', ...q });
    const ids = page.items.map((d) => d.documentId);
    const jobs = ids.length ? await this.ds.getRepository(UploadJobEntity).findBy({ documentId: In(ids) }) : [];
    const byDoc = new Map(jobs.map((j) => [j.documentId, j]));
    return { items: page.items.map((document) => ({ document, job: byDoc.get(document.documentId) ?? null })), nextCursor: page.nextCursor };
  }

  async get(userId: string, documentId: string): Promise<DocumentDetail | null> {
    const document = await this.query.findDocument(documentId, userId);
    if (!document) return null;
    const job = await this.ds.getRepository(UploadJobEntity).findOneBy({ documentId });
    return { document, job, events: job ? await this.query.events(job.jobId) : [] };
  }

  /**
   * Deletes the document row (the database cascades to its job, events, buffers, chunks and webhook log)
   * and its stored bytes and parsed text, in one transaction: when storage fails, the row stays and the
   * delete can be repeated. A worker holding the job finds nothing at its next transition and stops.
   * Returns false when the user has no such document.
   */
  async delete(userId: string, documentId: string): Promise<boolean> {
    const document = await this.query.findDocument(documentId, userId);
    if (!document) return false;
    return this.ds.transaction(async (m) => {
      const deleted = (await m.query(
        `WITH d AS (DELETE FROM upload_pipeline.documents WHERE document_id = $1 AND user_id = $2 RETURNING raw_path, parsed_path)
         SELECT raw_path, parsed_path FROM d`,
        [documentId, userId],
      )) as { raw_path: string; parsed_path: string | null }[];
      if (!deleted.length) return false; // deleted concurrently
      const prefix = storageKey.documentPrefix(userId, documentId);
      await this.storage.deletePrefix(prefix);
      for (const key of [deleted[0].raw_path, deleted[0].parsed_path]) {
        if (key && !key.startsWith(prefix)) await this.storage.deleteObject(key);
      }
      return true;
    });
  }
}
