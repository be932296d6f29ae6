import type { EmbeddingStorage } from '@app/database';

/** Reciprocal rank fusion constant (Cormack et al.): score = sum over rankings of 1 / (k + rank). */
export const RRF_K = 60;
/** Smallest hnsw.ef_search a pgvector search runs with (see prelude). */
export const EF_SEARCH_FLOOR = 100;
/** Largest number of results one search may ask for. */
export const MAX_SEARCH_TOP_K = 50;

export interface SearchSqlOptions {
  /** The query's embedding. */
  vector: readonly number[];
  /** Only this user's chunks are searched. */
  userId: string;
  /** Only chunks embedded with this model and version (vectors of other models are not comparable). */
  embedModel: string;
  embedVersion: number;
  /** 1..MAX_SEARCH_TOP_K. */
  topK: number;
  /** Restrict to these documents (of the same user). */
  documentIds?: readonly string[];
  /** The query text (hybrid search: full-text ranking). */
  queryText?: string;
  /** pgvector >= 0.8: let the HNSW scan continue until enough rows pass the filters (hnsw.iterative_scan). */
  iterativeScan?: boolean;
}

export interface SearchSql {
  /** Run first, in the same transaction (`SET LOCAL ...`); empty when nothing needs setting. */
  prelude: string[];
  sql: string;
  params: unknown[];
}

/** One row of a search: `score` is cosine similarity (vector) or the fused RRF score (hybrid). */
export interface SearchRow {
  chunk_id: string;
  document_id: string;
  filename: string;
  ord: number;
  text: string;
  score: number;
  /** The pages the chunk comes from (1-based, `meta.page_start` / `meta.page_end`); null when not known. */
  page_start: number | null;
  page_end: number | null;
}

const CHUNKS = 'upload_pipeline.document_chunks';
/** A chunk's pages, from its meta (written by chunking when the parsed markdown marks pages). */
const PAGES = `CASE WHEN jsonb_typeof(c.meta->'page_start') = 'number' THEN (c.meta->>'page_start')::int END AS page_start,
      CASE WHEN jsonb_typeof(c.meta->'page_end') = 'number' THEN (c.meta->>'page_end')::int END AS page_end`;
const DOCUMENTS = 'upload_pipeline.documents';

/** pgvector's text form of a vector: `[0.1,0.2,...]`. */
export function toVectorLiteral(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}

function check(o: SearchSqlOptions): void {
  if (!Number.isInteger(o.topK) || o.topK < 1 || o.topK > MAX_SEARCH_TOP_K)
    throw new RangeError(`topK must be an integer in 1..${MAX_SEARCH_TOP_K}`);
  if (!o.vector.length || !o.vector.every((x) => Number.isFinite(x))) throw new RangeError('vector must be finite numbers');
}

/** Candidates each ranking contributes to the fusion. */
function candidates(topK: number): number {
  return Math.min(200, Math.max(40, topK * 4));
}

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** The owner / model / document filters on `c` (document_chunks). */
function filters(o: SearchSqlOptions, p: Params): string {
  const where = [`c.user_id = ${p.add(o.userId)}`, `c.embed_model = ${p.add(o.embedModel)}`, `c.embed_version = ${p.add(o.embedVersion)}`];
  if (o.documentIds) where.push(`c.document_id = ANY(${p.add(o.documentIds)}::uuid[])`);
  return where.join(' AND ');
}

/**
 * The `limit` chunks nearest to the query vector: (chunk_id, document_id, ord, text, page_start, page_end, score), score = cosine
 * similarity. pgvector: `ORDER BY embedding <=> q` (cosine distance) so the HNSW index serves it. real[]:
 * exact cosine computed in SQL, dot(a, q) / (|a| |q|), over the owner's chunks.
 */
function nearest(storage: EmbeddingStorage, o: SearchSqlOptions, p: Params, limit: number): string {
  if (storage === 'pgvector') {
    const q = p.add(toVectorLiteral(o.vector));
    return `SELECT c.chunk_id, c.document_id, c.ord, c.text, ${PAGES}, (1 - (c.embedding <=> ${q}::vector))::float8 AS score
      FROM ${CHUNKS} c
      WHERE ${filters(o, p)}
      ORDER BY c.embedding <=> ${q}::vector
      LIMIT ${p.add(limit)}`;
  }
  const q = p.add(o.vector);
  return `SELECT c.chunk_id, c.document_id, c.ord, c.text, ${PAGES}, (s.dot / (sqrt(s.nn) * qv.norm))::float8 AS score
      FROM ${CHUNKS} c
      CROSS JOIN (SELECT v, cardinality(v) AS dims, (SELECT sqrt(sum(x::float8 * x::float8)) FROM unnest(v) AS x) AS norm
                  FROM (SELECT ${q}::real[] AS v) AS given) AS qv
      CROSS JOIN LATERAL (SELECT sum(a::float8 * b::float8) AS dot, sum(a::float8 * a::float8) AS nn
                          FROM unnest(c.embedding, qv.v) AS t(a, b)) AS s
      WHERE ${filters(o, p)} AND cardinality(c.embedding) = qv.dims AND s.nn > 0 AND qv.norm > 0
      ORDER BY score DESC, c.chunk_id
      LIMIT ${p.add(limit)}`;
}

function prelude(storage: EmbeddingStorage, o: SearchSqlOptions, scanned: number): string[] {
  if (storage !== 'pgvector') return [];
  // ef_search is the HNSW candidate list. Measured on pgvector 0.8.7 (tools/bench/search-pgvector.mjs,
  // 100k x 1536-d chunks): at pgvector's default of 40 recall@10 was 52 to 75 %, and on a 30k-chunk table the
  // planner costed the index above a full scan plus sort and scanned everything (393 ms against 8.9 ms); at
  // 200 it did the same on 100k chunks (1.3 s). At 100: p50 8.7 ms, recall 94 %, the index on all sizes tried.
  // With iterative scans (pgvector >= 0.8) the scan goes on past ef_search until the LIMIT is met, so it stays
  // at 100 whatever is asked; without them ef_search must cover the rows asked for.
  const ef = o.iterativeScan ? EF_SEARCH_FLOOR : Math.min(1000, Math.max(EF_SEARCH_FLOOR, scanned));
  const out = [`SET LOCAL hnsw.ef_search = ${ef}`];
  if (o.iterativeScan) out.push(`SET LOCAL hnsw.iterative_scan = strict_order`);
  return out;
}

/** Vector search: the caller's topK chunks by cosine similarity to the query vector. */
export function buildVectorSearchSql(storage: EmbeddingStorage, o: SearchSqlOptions): SearchSql {
  check(o);
  const p = new Params();
  const sql = `WITH hits AS (${nearest(storage, o, p, o.topK)})
    SELECT h.chunk_id, h.document_id, d.filename, h.ord, h.text, h.page_start, h.page_end, h.score
    FROM hits h JOIN ${DOCUMENTS} d ON d.document_id = h.document_id
    ORDER BY h.score DESC, h.chunk_id`;
  return { prelude: prelude(storage, o, o.topK), sql, params: p.values };
}

/**
 * Hybrid search: reciprocal rank fusion (k = 60) of the vector ranking and PostgreSQL full text
 * (`tsv @@ websearch_to_tsquery('english', query)`, ranked by ts_rank_cd), each contributing its best
 * candidates. score = sum of 1 / (60 + rank) over the rankings a chunk appears in.
 */
export function buildHybridSearchSql(storage: EmbeddingStorage, o: SearchSqlOptions): SearchSql {
  check(o);
  if (!o.queryText?.trim()) throw new RangeError('hybrid search needs the query text');
  const n = candidates(o.topK);
  const p = new Params();
  const vec = nearest(storage, o, p, n);
  const text = p.add(o.queryText);
  const sql = `WITH vec AS (
      SELECT v.chunk_id, row_number() OVER (ORDER BY v.score DESC, v.chunk_id) AS rank FROM (${vec}) v
    ), fts AS (
      SELECT c.chunk_id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, tq.q) DESC, c.chunk_id) AS rank
      FROM ${CHUNKS} c, websearch_to_tsquery('english', ${text}) AS tq(q)
      WHERE ${filters(o, p)} AND c.tsv @@ tq.q
      ORDER BY rank
      LIMIT ${p.add(n)}
    ), fused AS (
      SELECT r.chunk_id, sum(1.0 / (${RRF_K} + r.rank))::float8 AS score
      FROM (SELECT chunk_id, rank FROM vec UNION ALL SELECT chunk_id, rank FROM fts) r
      GROUP BY r.chunk_id
    )
    SELECT f.chunk_id, c.document_id, d.filename, c.ord, c.text, ${PAGES}, f.score
    FROM fused f
    JOIN ${CHUNKS} c ON c.chunk_id = f.chunk_id
    JOIN ${DOCUMENTS} d ON d.document_id = c.document_id
    ORDER BY f.score DESC, f.chunk_id
    LIMIT ${p.add(o.topK)}`;
  return { prelude: prelude(storage, o, n), sql, params: p.values };
}
