import { JobStatus } from './job.model';

/** `POST /api/v1/parsing/upload` answer. */
export interface UploadResponse {
  id: string;
  status: JobStatus;
}

/** `GET /api/v1/parsing/job/:id` answer; the error fields only on ERROR / CANCELED. */
export interface JobStatusResponse {
  id: string;
  status: JobStatus;
  error_code?: string;
  error_message?: string;
}

export interface JobMetadata {
  credits_used: number;
  job_credits_usage: number;
  job_pages: number;
  job_auto_mode_triggered_pages: number;
  job_is_cache_hit: boolean;
}

export interface MarkdownResultResponse {
  markdown: string;
  job_metadata: JobMetadata;
}

export interface TextResultResponse {
  text: string;
  job_metadata: JobMetadata;
}

/** Multipart fields other than `file`; any other field (result_type, language, ...) is accepted and ignored. */
export type UploadFields = Record<string, unknown>;
