import { ChunkBufferEntity, DocumentChunkEntity, EmbeddingModelEntity, VectorBufferEntity } from './chunk.entity';
import { DocumentEntity } from './document.entity';
import { JobEventEntity } from './job-event.entity';
import { UploadJobEntity } from './upload-job.entity';
import { WebhookLogEntity } from './webhook-log.entity';

export * from './chunk.entity';
export * from './document.entity';
export * from './job-event.entity';
export * from './upload-job.entity';
export * from './webhook-log.entity';

export const ENTITIES = [
  DocumentEntity,
  UploadJobEntity,
  JobEventEntity,
  ChunkBufferEntity,
  VectorBufferEntity,
  DocumentChunkEntity,
  EmbeddingModelEntity,
  WebhookLogEntity,
];
