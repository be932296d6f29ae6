import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { EmbeddingModelState } from '../schema';

/** Chunks written by the chunking stage, before they are embedded. */
@Entity({ schema: 'upload_pipeline', name: 'document_chunk_buffer' })
export class ChunkBufferEntity {
  @PrimaryColumn({ name: 'chunk_id', type: 'uuid' })
  chunkId: string;

  @Column({ name: 'document_id', type: 'uuid' })
  documentId: string;

  @Column({ name: 'chunker', type: 'text' })
  chunker: string;

  @Column({ name: 'chunker_version', type: 'int' })
  chunkerVersion: number;

  @Column({ name: 'ord', type: 'int' })
  ord: number;

  @Column({ name: 'text', type: 'text' })
  text: string;

  @Column({ name: 'chunk_sha', type: 'char', length: 64 })
  chunkSha: string;

  @Column({ name: 'token_count', type: 'int' })
  tokenCount: number;

  @Column({ name: 'meta', type: 'jsonb', default: () => `'{}'::jsonb` })
  meta: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** Vectors written by the embedding stage, keyed by (chunk, model, version). */
@Entity({ schema: 'upload_pipeline', name: 'document_vector_buffer' })
export class VectorBufferEntity {
  @PrimaryColumn({ name: 'chunk_id', type: 'uuid' })
  chunkId: string;

  @PrimaryColumn({ name: 'embed_model', type: 'text' })
  embedModel: string;

  @PrimaryColumn({ name: 'embed_version', type: 'int' })
  embedVersion: number;

  @Column({ name: 'document_id', type: 'uuid' })
  documentId: string;

  @Column({ name: 'embedding', type: 'real', array: true })
  embedding: number[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/**
 * Final, searchable chunks: one row per chunk and embedding model (two while a model is re-embedded side by
 * side, see EmbeddingModelEntity). The `embedding` column is pgvector `vector(N)` or `real[]` depending on
 * the database (see the initial migration); it is read and written with SQL, not through this entity.
 */
@Entity({ schema: 'upload_pipeline', name: 'document_chunks' })
export class DocumentChunkEntity {
  @PrimaryColumn({ name: 'chunk_id', type: 'uuid' })
  chunkId: string;

  @Column({ name: 'document_id', type: 'uuid' })
  documentId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'chunker', type: 'text' })
  chunker: string;

  @Column({ name: 'chunker_version', type: 'int' })
  chunkerVersion: number;

  @Column({ name: 'ord', type: 'int' })
  ord: number;

  @Column({ name: 'text', type: 'text' })
  text: string;

  @Column({ name: 'chunk_sha', type: 'char', length: 64 })
  chunkSha: string;

  @Column({ name: 'token_count', type: 'int' })
  tokenCount: number;

  @PrimaryColumn({ name: 'embed_model', type: 'text' })
  embedModel: string;

  @PrimaryColumn({ name: 'embed_version', type: 'int' })
  embedVersion: number;

  @Column({ name: 'meta', type: 'jsonb', default: () => `'{}'::jsonb` })
  meta: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** An embedding model and version whose vectors the database holds (at most one active, one building). */
@Entity({ schema: 'upload_pipeline', name: 'embedding_models' })
export class EmbeddingModelEntity {
  @PrimaryColumn({ name: 'embed_model', type: 'text' })
  embedModel: string;

  @PrimaryColumn({ name: 'embed_version', type: 'int' })
  embedVersion: number;

  @Column({ name: 'dimensions', type: 'int' })
  dimensions: number;

  @Column({ name: 'state', type: 'text' })
  state: EmbeddingModelState;

  @Column({ name: 'requested_by', type: 'text', nullable: true })
  requestedBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'activated_at', type: 'timestamptz', nullable: true })
  activatedAt: Date | null;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
