import { DocumentType } from '../parsers/parser';
import { ParseOutput } from '../parsers/parser.registry';

export const JOB_STATUSES = ['PENDING', 'SUCCESS', 'ERROR', 'CANCELED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A v2 webhook configuration (`webhook_configurations[]` of `POST /api/v2/parse/upload`), validated. */
export interface V2WebhookConfig {
  url: string;
  /** Events to send; undefined = every event. */
  events?: string[];
  secret?: string;
  headers?: Record<string, string>;
  /** `string` (LlamaParse's default): the body is the payload as a JSON-encoded string; `json`: the object. */
  outputFormat: 'json' | 'string';
}

/** What a job created through the v2 API (`/api/v2/parse`) also holds. */
export interface V2JobOptions {
  tier: string;
  version: string;
  projectId: string;
  webhooks: V2WebhookConfig[];
}

/** A parse job held in memory. `bytes` is released once the job finishes. */
export interface Job {
  readonly id: string;
  readonly type: DocumentType;
  readonly filename: string;
  readonly createdAt: number;
  status: JobStatus;
  bytes?: Uint8Array;
  webhookUrl?: string;
  webhookSecret?: string;
  /** OCR of image-only PDF pages as the upload asked (v1 `disable_ocr`, v2 `ignore_text_in_image`); undefined: the default. */
  ocr?: boolean;
  /** v1 `page_separator` as the upload sent it (`{pageNumber}`: the next page's number); undefined: `---`. */
  pageSeparator?: string;
  /** Set when the parse starts (v2 reports RUNNING from then on). */
  startedAt?: number;
  finishedAt?: number;
  /** Present on jobs created through the v2 API. */
  v2?: V2JobOptions;
  result?: ParseOutput;
  errorCode?: string;
  errorMessage?: string;
  /** A v1 job that succeeded but reports PARTIAL_SUCCESS (the fault knob partialSuccessRate). */
  partialSuccess?: boolean;
}

export interface NewJob {
  type: DocumentType;
  filename: string;
  bytes: Uint8Array;
  webhookUrl?: string;
  webhookSecret?: string;
  ocr?: boolean;
  pageSeparator?: string;
  v2?: V2JobOptions;
}
