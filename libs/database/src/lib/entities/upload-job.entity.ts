import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { JobState, Stage } from '@app/state-machine';

export interface JobProgress {
  percent?: number;
  chunks_total?: number;
  chunks_embedded?: number;
  tokens_embedded?: number;
  pages?: number;
  [k: string]: unknown;
}

export interface JobError {
  kind: 'transient' | 'permanent';
  code: string;
  message: string;
  stage: Stage;
  at: string;
  attempts?: number;
}

@Entity({ schema: 'upload_pipeline', name: 'upload_jobs' })
export class UploadJobEntity {
  @PrimaryGeneratedColumn('uuid', { name: 'job_id' })
  jobId: string;

  @Column({ name: 'document_id', type: 'uuid' })
  documentId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'stage', type: 'text' })
  stage: Stage;

  @Column({ name: 'state', type: 'text' })
  state: JobState;

  @Column({ name: 'retry_count', type: 'int', default: 0 })
  retryCount: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'progress', type: 'jsonb', default: () => `'{}'::jsonb` })
  progress: JobProgress;

  @Column({ name: 'last_error', type: 'jsonb', nullable: true })
  lastError: JobError | null;

  @Column({ name: 'claimed_by', type: 'text', nullable: true })
  claimedBy: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ name: 'webhook_secret', type: 'text', select: false })
  webhookSecret: string;

  @Column({ name: 'parser_job_id', type: 'text', nullable: true })
  parserJobId: string | null;

  @Column({ name: 'embed_model', type: 'text' })
  embedModel: string;

  @Column({ name: 'embed_version', type: 'int', default: 1 })
  embedVersion: number;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId: string;

  @Column({ name: 'upload_expires_at', type: 'timestamptz', nullable: true })
  uploadExpiresAt: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
