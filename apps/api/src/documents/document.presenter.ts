import type { DocumentWithJob, DocumentDetail } from '@app/jobs';
import { JobView, presentDocument, presentJob } from '../jobs/job.presenter';

export type DocumentView = ReturnType<typeof presentDocument> & { job: JobView | null };

/** A document with its job (stage, state, progress, last_error) and, for the detail view, the job's events. */
export function presentDocumentWithJob(d: DocumentWithJob | DocumentDetail): DocumentView {
  return { ...presentDocument(d.document), job: d.job ? presentJob(d.job, 'events' in d ? d.events : undefined) : null };
}
