import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Every accepted parser webhook, once: (job_id, body_sha256) is unique, so a replay is recognised. */
@Entity({ schema: 'upload_pipeline', name: 'webhook_log' })
export class WebhookLogEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId: string;

  @Column({ name: 'source', type: 'text' })
  source: string;

  @Column({ name: 'body_sha256', type: 'char', length: 64 })
  bodySha256: string;

  @Column({ name: 'parser_job_id', type: 'text', nullable: true })
  parserJobId: string | null;

  @Column({ name: 'status', type: 'text', nullable: true })
  status: string | null;

  @CreateDateColumn({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;
}
