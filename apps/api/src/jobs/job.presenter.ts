import type { DocumentEntity, JobEventEntity, UploadJobEntity } from '@app/database';
import { progressPercent } from '@app/state-machine';

export interface JobView {
  job_id: string;
  document_id: string;
  stage: string;
  state: string;
  progress: Record<string, unknown> & { percent: number };
  retry_count: number;
  next_attempt_at: string | null;
  last_error: unknown;
  embed_model: string;
  embed_version: number;
  correlation_id: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  events?: EventView[];
}

export interface EventView {
  event_id: string;
  type: string;
  stage: string;
  from_stage: string | null;
  from_state: string | null;
  to_state: string;
  at: string;
  detail: unknown;
}

export function presentJob(j: UploadJobEntity, events?: JobEventEntity[]): JobView {
  const fraction =
    j.progress?.chunks_total && j.progress.chunks_embedded !== undefined
      ? Number(j.progress.chunks_embedded) / Number(j.progress.chunks_total)
      : 0;
  return {
    job_id: j.jobId,
    document_id: j.documentId,
    stage: j.stage,
    state: j.state,
    progress: { ...(j.progress ?? {}), percent: progressPercent(j.stage, j.stage === 'embedding_in_progress' ? fraction : 0) },
    retry_count: j.retryCount,
    next_attempt_at: j.nextAttemptAt?.toISOString() ?? null,
    last_error: j.lastError,
    embed_model: j.embedModel,
    embed_version: j.embedVersion,
    correlation_id: j.correlationId,
    created_at: j.createdAt.toISOString(),
    updated_at: j.updatedAt.toISOString(),
    completed_at: j.completedAt?.toISOString() ?? null,
    ...(events ? { events: events.map(presentEvent) } : {}),
  };
}

export function presentEvent(e: JobEventEntity): EventView {
  return {
    event_id: String(e.eventId),
    type: e.eventType,
    stage: e.stage,
    from_stage: e.fromStage,
    from_state: e.fromState,
    to_state: e.toState,
    at: e.createdAt.toISOString(),
    detail: e.detail,
  };
}

export function presentDocument(d: DocumentEntity) {
  return {
    document_id: d.documentId,
    filename: d.filename,
    mime: d.mime,
    bytes_len: d.bytesLen,
    sha256: d.fileSha256,
    parsed_sha256: d.parsedSha256,
    processing_status: d.processingStatus,
    page_count: d.pageCount,
    chunk_count: d.chunkCount,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}
