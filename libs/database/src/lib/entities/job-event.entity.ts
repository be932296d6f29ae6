import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { EventType, JobState, Stage } from '@app/state-machine';

@Entity({ schema: 'upload_pipeline', name: 'events' })
export class JobEventEntity {
  @PrimaryGeneratedColumn('identity', { name: 'event_id', type: 'bigint', generatedIdentity: 'ALWAYS' })
  eventId: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId: string;

  @Column({ name: 'document_id', type: 'uuid' })
  documentId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: EventType;

  @Column({ name: 'stage', type: 'text' })
  stage: Stage;

  @Column({ name: 'from_stage', type: 'text', nullable: true })
  fromStage: Stage | null;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState: JobState | null;

  @Column({ name: 'to_state', type: 'text' })
  toState: JobState;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId: string;

  @Column({ name: 'actor', type: 'text', nullable: true })
  actor: string | null;

  @Column({ name: 'detail', type: 'jsonb', nullable: true })
  detail: Record<string, unknown> | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
