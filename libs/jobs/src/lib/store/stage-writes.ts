import type { EmbeddingStorage } from '@app/database';

/** A chunk as the chunk buffer stores it. */
export interface ChunkRow {
  chunkId: string;
  chunker: string;
  version: number;
  ord: number;
  text: string;
  chunkSha: string;
  tokenCount: number;
  meta: Record<string, unknown>;
}

/**
 * Chunks written into the document's chunk buffer in the transition's own statement, only when the transition applies
 * (ON CONFLICT DO NOTHING: a re-run writes none twice). `complete`: these are all of the document's chunks.
 */
export interface BufferChunksWrite {
  kind: 'buffer_chunks';
  documentId: string;
  rows: readonly ChunkRow[];
  complete: boolean;
}

/** One model's vectors of some of the document's buffered chunks: `vectors[i]` is chunk `chunkIds[i]`'s. */
export interface ChunkVectors {
  model: string;
  version: number;
  chunkIds: readonly string[];
  vectors: readonly ArrayLike<number>[];
}

/**
 * The document's buffered chunks and their vectors (one row per registered model) moved into document_chunks, both
 * buffers emptied and the document's chunk_count set, in the final transition's statement. The transition requires
 * every buffered chunk to have a vector of a registered model; otherwise nothing changes and the store throws a
 * transient `vectors_missing` error.
 */
export interface FinalizeWrite {
  kind: 'finalize';
  documentId: string;
  userId: string;
  /** How the schema stores vectors (the migration chose it): the buffer's real[] goes into that column. */
  vectorStorage: EmbeddingStorage;
  /**
   * Vectors not in the vector buffer (embedding's last batch, in the same claim): moved and counted as if they were.
   * They are written only if the transition applies; otherwise the caller still has them to write.
   */
  vectors?: ChunkVectors;
  /**
   * The document's chunks, not in the chunk buffer (chunking in the same claim, its transition in this statement):
   * stored straight into document_chunks with their vector from `vectors`, which must hold one for each (one model).
   * Anything an earlier attempt left in the buffers for the document is dropped with them.
   */
  chunks?: readonly ChunkRow[];
}

/** A write that a stage asks to go in its transition's statement (one round trip, atomic with the transition). */
export type StageWrite = BufferChunksWrite | FinalizeWrite;

/** What the statement reports about a stage's write, whether or not the transition applied. */
export type StageWriteReport =
  | { kind: 'buffer_chunks'; /** Rows in the document's buffer before this statement. */ bufferedBefore: number }
  | { kind: 'finalize'; /** Buffered chunks with no vector of a registered model. */ missing: number };
