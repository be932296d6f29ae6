import { DocumentType } from '../parsers/parser';
import { ParseOutput } from '../parsers/parser.registry';

export const JOB_STATUSES = ['PENDING', 'SUCCESS', 'ERROR', 'CANCELED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

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
  finishedAt?: number;
  result?: ParseOutput;
  errorCode?: string;
  errorMessage?: string;
}

export interface NewJob {
  type: DocumentType;
  filename: string;
  bytes: Uint8Array;
  webhookUrl?: string;
  webhookSecret?: string;
}
