import { JobStatus } from './job.model';

/** `POST /api/v1/parsing/upload` answer. */
export interface UploadResponse {
  id: string;
  status: JobStatus;
}

/** `GET /api/v1/parsing/job/:id` answer; the error fields only on ERROR / CANCELED. */
export interface JobStatusResponse {
  id: string;
  /** PARTIAL_SUCCESS: a SUCCESS job picked by the partialSuccessRate knob (its result is there, as on SUCCESS). */
  status: JobStatus | 'PARTIAL_SUCCESS';
  error_code?: string;
  error_message?: string;
}

export interface JobMetadata {
  credits_used: number;
  job_credits_usage: number;
  job_pages: number;
  job_auto_mode_triggered_pages: number;
  job_is_cache_hit: boolean;
  /** Mock-only: pages whose text was read by OCR (image-only PDF pages). */
  ocr_pages: number;
}

export interface MarkdownResultResponse {
  markdown: string;
  job_metadata: JobMetadata;
}

export interface TextResultResponse {
  text: string;
  job_metadata: JobMetadata;
}

/** One typed item of a v1 JSON page (`lvl` for headings, `rows` for tables). */
export interface JsonPageItem {
  type: 'heading' | 'table' | 'text';
  value?: string;
  md: string;
  lvl?: number;
  rows?: string[][];
  isPerfectTable?: boolean;
  csv?: string;
}

/** One page of `GET /api/v1/parsing/job/:id/result/json` (pages are numbered from 1). */
export interface JsonPage {
  page: number;
  text: string;
  md: string;
  images: unknown[];
  charts: unknown[];
  tables: unknown[];
  layout: unknown[];
  links: unknown[];
  items: JsonPageItem[];
  status: 'OK';
  width: number;
  height: number;
  triggeredAutoMode: boolean;
  structuredData: null;
  noStructuredContent: boolean;
  noTextContent: boolean;
}

export interface JsonResultResponse {
  pages: JsonPage[];
  job_metadata: JobMetadata;
  file_name: string;
}

/** Multipart fields other than `file`; any other field (result_type, language, ...) is accepted and ignored. */
export type UploadFields = Record<string, unknown>;
