/** The PostgreSQL schema that holds every table of the pipeline. */
export const SCHEMA = 'upload_pipeline';

/** Channel on which a trigger NOTIFYs when a job becomes ready for a worker (payload: the job's stage). */
export const JOBS_NOTIFY_CHANNEL = 'upload_pipeline_jobs';

export const PROCESSING_STATUSES = ['pending', 'processing', 'complete', 'failed'] as const;
export type ProcessingStatus = (typeof PROCESSING_STATUSES)[number];

/** How embeddings are stored: pgvector when the extension exists, real[] with exact cosine in SQL otherwise. */
export type EmbeddingStorage = 'pgvector' | 'real_array';

/**
 * Lifecycle of an embedding model's vectors: `building` (being filled in next to the active one), `active`
 * (search reads it, new documents get it), `retired` (replaced; its rows are deleted by the re-embedding loop).
 */
export const EMBEDDING_MODEL_STATES = ['building', 'active', 'retired'] as const;
export type EmbeddingModelState = (typeof EMBEDDING_MODEL_STATES)[number];
