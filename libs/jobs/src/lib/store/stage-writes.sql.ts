import { float4Array, float4Slice } from '@app/database';
import type { ChunkRow, ChunkVectors, StageWrite } from './stage-writes';

/** Binds a value as the statement's next parameter and returns its placeholder (`$n`). */
export type BindParam = (value: unknown) => string;

/**
 * A stage write as parts of the transition's statement: common table expressions around its update of the job row
 * (named `upd`; the names `upd`, `ev` and `doc` are taken). All of them read the statement's one snapshot. `before` and
 * `after` write other rows only: the job's row is the transition's, and the document's columns go in `documentSets`
 * (one statement cannot update a row twice).
 */
export interface WriteSql {
  /** CTEs before the job's update, without `WITH`. */
  before?: (p: BindParam) => string;
  /** A boolean SQL expression the job's update requires besides its compare-and-set (it may read `before`). */
  requires?: string;
  /** CTEs after the job's update; `WHERE EXISTS (SELECT 1 FROM upd)` makes a write happen only with the transition. */
  after?: (p: BindParam) => string;
  /** Columns of the document's row set by the transition's own update of it (column -> SQL expression). */
  documentSets?: (p: BindParam) => Record<string, string>;
  /** A SQL expression evaluated whether or not the transition applied: the write's report. */
  report?: string;
}

export const CHUNK_COLUMNS = 'chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count, meta';

/** The nine arrays' placeholders (in the order of CHUNK_COLUMNS) unnested into chunk rows. */
function unnestChunks(a: readonly string[]): string {
  return `unnest(${a[0]}::uuid[], ${a[1]}::uuid[], ${a[2]}::text[], ${a[3]}::int[], ${a[4]}::int[], ${a[5]}::text[],
                             ${a[6]}::char(64)[], ${a[7]}::int[], ${a[8]}::jsonb[])`;
}

/** The rows of a chunk insert from the nine arrays' placeholders (in the order of CHUNK_COLUMNS). */
export function chunkRowsSql(a: readonly string[]): string {
  return `SELECT * FROM ${unnestChunks(a)}`;
}

/** The columns finalize writes of a stored chunk. */
const STORED_CHUNK_COLUMNS = `(chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count,
               embed_model, embed_version, embedding, meta)`;

/** Finalize's CTEs after its insert (`ins`): both buffers emptied of the document's rows, when the transition applied. */
function emptyBuffersSql(doc: string): string {
  return `vectors AS (
            DELETE FROM upload_pipeline.document_vector_buffer WHERE document_id = ${doc}::uuid AND EXISTS (SELECT 1 FROM upd)
          ), chunks AS (
            DELETE FROM upload_pipeline.document_chunk_buffer WHERE document_id = ${doc}::uuid AND EXISTS (SELECT 1 FROM upd)
          )`;
}

/** The document's chunk_count after finalize: the chunks stored before, and those its insert (`ins`) added. */
function chunkCountSets(p: BindParam, documentId: string): Record<string, string> {
  return {
    chunk_count: `(SELECT count(*) FROM (
              SELECT chunk_id FROM upload_pipeline.document_chunks WHERE document_id = ${p(documentId)}::uuid UNION SELECT chunk_id FROM ins
            ) stored)`,
  };
}

/** The unnest arrays of `rows`, in the order of CHUNK_COLUMNS. */
export function chunkParams(rows: readonly ChunkRow[], documentId: string): unknown[] {
  return [
    rows.map((c) => c.chunkId),
    rows.map(() => documentId),
    rows.map((c) => c.chunker),
    rows.map((c) => c.version),
    rows.map((c) => c.ord),
    rows.map((c) => c.text),
    rows.map((c) => c.chunkSha),
    rows.map((c) => c.tokenCount),
    rows.map((c) => JSON.stringify(c.meta)),
  ];
}

function bufferChunksSql(documentId: string, rows: readonly ChunkRow[]): WriteSql {
  const params = chunkParams(rows, documentId);
  return {
    after: (p) => `chunk_rows AS (
            INSERT INTO upload_pipeline.document_chunk_buffer (${CHUNK_COLUMNS})
            ${chunkRowsSql(params.map((v) => p(v)))} WHERE EXISTS (SELECT 1 FROM upd)
            ON CONFLICT DO NOTHING
          )`,
    // the rows buffered before this statement (its own inserts are not in its snapshot)
    report: `(SELECT count(*) FROM upload_pipeline.document_chunk_buffer b WHERE b.document_id = (SELECT document_id FROM upd))`,
  };
}

/**
 * One statement (it was a transaction of four round trips, and before that five statements). `missing` is read first;
 * the job's compare-and-set requires it to be 0, and the moves run only when the job's update did (a buffered chunk
 * whose vector belongs to a model no longer registered, e.g. of a cancelled build, counts as missing). All parts read
 * one snapshot: the INSERT reads the buffer rows the DELETEs remove, and chunk_count is what was already stored plus
 * what the INSERT added. `inline` vectors (not buffered) count and move as the buffer's do; they are sent as one
 * binary real[] (float4Array) and sliced per chunk.
 */
function finalizeSql(documentId: string, userId: string, cast: string, inline: ChunkVectors | undefined): WriteSql {
  if (inline && inline.vectors.length !== inline.chunkIds.length)
    throw new Error(`finalize: ${inline.vectors.length} vectors for ${inline.chunkIds.length} chunks`);
  // the chunk's vectors of a registered model: the buffer's, and the inline one when the chunk is among them
  const vectorOf = (p: BindParam) => {
    const registered = `JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version`;
    if (!inline) return `SELECT 1 FROM upload_pipeline.document_vector_buffer v
              ${registered}
              WHERE v.chunk_id = b.chunk_id`;
    return `SELECT 1 FROM (
                SELECT v.embed_model, v.embed_version FROM upload_pipeline.document_vector_buffer v WHERE v.chunk_id = b.chunk_id
                UNION ALL
                SELECT ${p(inline.model)}::text, ${p(inline.version)}::int WHERE b.chunk_id = ANY (${p(inline.chunkIds)}::uuid[])
              ) v
              ${registered}`;
  };
  // the vectors to move: the buffer's rows, and the inline ones
  const vectorRows = (p: BindParam) => {
    if (!inline) return `upload_pipeline.document_vector_buffer`;
    const dims = p(inline.vectors[0]?.length ?? 0);
    return `(SELECT chunk_id, embed_model, embed_version, embedding FROM upload_pipeline.document_vector_buffer
                  UNION ALL
                  SELECT t.id, ${p(inline.model)}::text, ${p(inline.version)}::int, ${float4Slice(p(float4Array(inline.vectors)), 't.n', dims)}
                  FROM unnest(${p(inline.chunkIds)}::uuid[]) WITH ORDINALITY AS t (id, n))`;
  };
  return {
    before: (p) => `m AS (
            SELECT count(*)::int AS missing FROM upload_pipeline.document_chunk_buffer b
            WHERE b.document_id = ${p(documentId)}::uuid AND NOT EXISTS (
              ${vectorOf(p)})
          )`,
    requires: `(SELECT missing FROM m) = 0`,
    after: (p) => {
      const doc = p(documentId);
      return `ins AS (
            INSERT INTO upload_pipeline.document_chunks
              ${STORED_CHUNK_COLUMNS}
            SELECT b.chunk_id, b.document_id, ${p(userId)}::uuid, b.chunker, b.chunker_version, b.ord, b.text, b.chunk_sha,
                   b.token_count, v.embed_model, v.embed_version, v.embedding${cast}, b.meta
            FROM upload_pipeline.document_chunk_buffer b
            JOIN ${vectorRows(p)} v ON v.chunk_id = b.chunk_id
            JOIN upload_pipeline.embedding_models e ON e.embed_model = v.embed_model AND e.embed_version = v.embed_version
            WHERE b.document_id = ${doc}::uuid AND EXISTS (SELECT 1 FROM upd)
            ON CONFLICT DO NOTHING
            RETURNING chunk_id
          ), ${emptyBuffersSql(doc)}`;
    },
    documentSets: (p) => chunkCountSets(p, documentId),
    report: `(SELECT missing FROM m)`,
  };
}

/**
 * Finalize with the chunks in hand (`FinalizeWrite.chunks`): no buffer to read. The chunks go straight into
 * document_chunks with their vectors (one binary real[], in the chunks' order), when the vectors' model is registered
 * (otherwise every chunk counts as missing and nothing changes); the buffers are emptied of anything an earlier attempt
 * left for the document (these chunks are the document's now). One statement, as the buffered path.
 */
function finalizeInlineSql(documentId: string, userId: string, cast: string, chunks: readonly ChunkRow[], inline: ChunkVectors): WriteSql {
  const byId = new Map(inline.chunkIds.map((id, i) => [id, inline.vectors[i]]));
  const vectors = chunks.map((c) => {
    const v = byId.get(c.chunkId);
    if (!v) throw new Error(`finalize: chunk ${c.chunkId} has no vector among those handed over`);
    return v;
  });
  const registered = (p: BindParam) =>
    `EXISTS (SELECT 1 FROM upload_pipeline.embedding_models e WHERE e.embed_model = ${p(inline.model)}::text AND e.embed_version = ${p(inline.version)}::int)`;
  return {
    before: (p) => `m AS (
            SELECT CASE WHEN ${registered(p)} THEN 0 ELSE ${p(chunks.length)}::int END AS missing
          )`,
    requires: `(SELECT missing FROM m) = 0`,
    after: (p) => {
      const doc = p(documentId);
      const a = chunkParams(chunks, documentId).map((v) => p(v));
      const dims = p(vectors[0]?.length ?? 0);
      return `ins AS (
            INSERT INTO upload_pipeline.document_chunks
              ${STORED_CHUNK_COLUMNS}
            SELECT c.chunk_id, c.document_id, ${p(userId)}::uuid, c.chunker, c.chunker_version, c.ord, c.text, c.chunk_sha,
                   c.token_count, ${p(inline.model)}::text, ${p(inline.version)}::int,
                   ${float4Slice(p(float4Array(vectors)), 'c.n', dims)}${cast}, c.meta
            FROM ${unnestChunks(a)}
                 WITH ORDINALITY AS c (${CHUNK_COLUMNS}, n)
            WHERE EXISTS (SELECT 1 FROM upd)
            ON CONFLICT DO NOTHING
            RETURNING chunk_id
          ), ${emptyBuffersSql(doc)}`;
    },
    documentSets: (p) => chunkCountSets(p, documentId),
    report: `(SELECT missing FROM m)`,
  };
}

/** The statement parts of a stage's write. */
export function writeSql(w: StageWrite): WriteSql {
  switch (w.kind) {
    case 'buffer_chunks':
      return bufferChunksSql(w.documentId, w.rows);
    case 'finalize': {
      const cast = w.vectorStorage === 'pgvector' ? '::vector' : '';
      if (w.chunks?.length) {
        if (!w.vectors) throw new Error('finalize: chunks in hand without their vectors');
        return finalizeInlineSql(w.documentId, w.userId, cast, w.chunks, w.vectors);
      }
      return finalizeSql(w.documentId, w.userId, cast, w.vectors?.chunkIds.length ? w.vectors : undefined);
    }
  }
}
