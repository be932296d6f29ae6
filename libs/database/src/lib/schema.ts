/** The PostgreSQL schema that holds every table of the pipeline. */
export const SCHEMA = 'upload_pipeline';

/** Channel on which a trigger NOTIFYs when a job becomes ready for a worker (payload: the job's stage). */
export const JOBS_NOTIFY_CHANNEL = 'upload_pipeline_jobs';

export const PROCESSING_STATUSES = ['pending', 'processing', 'complete', 'failed'] as const;
export type ProcessingStatus = (typeof PROCESSING_STATUSES)[number];

/** How embeddings are stored: pgvector when the extension exists, real[] with exact cosine in SQL otherwise. */
export type EmbeddingStorage = 'pgvector' | 'real_array';
