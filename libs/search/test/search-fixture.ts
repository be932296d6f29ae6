import { buildHybridSearchSql, buildVectorSearchSql, RRF_K, SearchRow, SearchSql, SearchSqlOptions } from '../src/lib/search-sql';
import type { EmbeddingStorage } from '@app/database';

/**
 * Chunks with known vectors and texts, shared by the search tests of both storages (real[] on the real
 * PostgreSQL, pgvector on PGlite), and the results each search must give (computed here, in JavaScript).
 */
export const DIMS = 4;
export const MODEL = 'test-model';
export const ALICE = '00000000-0000-4000-8000-00000000a11c';
export const BOB = '00000000-0000-4000-8000-000000000b0b';

export interface FixtureDocument {
  documentId: string;
  userId: string;
  filename: string;
}

export interface FixtureChunk {
  chunkId: string;
  documentId: string;
  userId: string;
  ord: number;
  text: string;
  embedding: number[];
  model: string;
  version: number;
  /** `document_chunks.meta`: the pages of some chunks (what chunking writes when the markdown marks pages). */
  meta: Record<string, unknown>;
}

const doc = (n: number, userId: string, filename: string): FixtureDocument => ({
  documentId: `20000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`,
  userId,
  filename,
});
export const BIRDS = doc(1, ALICE, 'birds.md');
export const ENGINES = doc(2, ALICE, 'engines.md');
export const BOBS = doc(3, BOB, 'bob.md');
export const DOCUMENTS = [BIRDS, ENGINES, BOBS];

/** Pages of some fixture chunks (by number); the others have none in their meta. */
const PAGES: Record<number, [number, number]> = { 1: [1, 1], 2: [2, 3], 3: [4, 4] };

export const chunkId = (n: number) => `10000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const chunk = (n: number, d: FixtureDocument, ord: number, text: string, embedding: number[], model = MODEL, version = 1): FixtureChunk => ({
  chunkId: chunkId(n),
  documentId: d.documentId,
  userId: d.userId,
  ord,
  text,
  embedding,
  model,
  version,
  meta: PAGES[n] ? { heading_path: [], page_start: PAGES[n][0], page_end: PAGES[n][1] } : {},
});

/**
 * Vectors are deliberately not normalised: ranking by dot product would put c02 ([5,5,0,0]) first;
 * cosine puts c01 first.
 */
export const CHUNKS: FixtureChunk[] = [
  chunk(1, BIRDS, 0, 'The kestrel hovers over the meadow before it dives.', [0.9, 0.1, 0, 0]),
  chunk(2, BIRDS, 1, 'Swallows migrate south in autumn, following the insects.', [5, 5, 0, 0]),
  chunk(6, BIRDS, 2, 'Owls hunt at night and hear their prey under snow.', [1, 0, 0, 2]),
  chunk(7, BIRDS, 3, 'A chunk embedded with another model.', [1, 0, 0, 0], 'other-model'),
  chunk(8, BIRDS, 4, 'A chunk embedded with another version.', [1, 0, 0, 0], MODEL, 2),
  chunk(3, ENGINES, 0, 'A diesel engine compresses air until the fuel ignites.', [0, 0, 3, 0]),
  chunk(4, ENGINES, 1, 'Turbochargers use exhaust gas to drive a compressor.', [-1, 0.5, 0, 0]),
  chunk(9, BOBS, 0, "Bob's notes on the diesel engine of his boat.", [1, 0, 0, 0]),
];

/** The query vector (norm 2: the query's length must not matter either). */
export const QUERY_VECTOR = [2, 0, 0, 0];

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb));
}

export interface SearchCase {
  name: string;
  mode: 'vector' | 'hybrid';
  opts: SearchSqlOptions;
  /** hybrid: the chunks the full-text query matches, best first (each case has at most one per user). */
  ftsMatches?: string[];
}

const base = (over: Partial<SearchSqlOptions> = {}): SearchSqlOptions => ({
  vector: QUERY_VECTOR,
  userId: ALICE,
  embedModel: MODEL,
  embedVersion: 1,
  topK: 10,
  ...over,
});

export const SEARCH_CASES: SearchCase[] = [
  { name: "vector: the owner's chunks of the current model, by cosine", mode: 'vector', opts: base() },
  { name: 'vector: top_k', mode: 'vector', opts: base({ topK: 2 }) },
  { name: 'vector: restricted to one document', mode: 'vector', opts: base({ documentIds: [ENGINES.documentId] }) },
  { name: 'vector: another user sees only their own', mode: 'vector', opts: base({ userId: BOB }) },
  { name: "vector: another user's document ids give nothing", mode: 'vector', opts: base({ documentIds: [BOBS.documentId] }) },
  { name: 'vector: another embed version', mode: 'vector', opts: base({ embedVersion: 2 }) },
  { name: 'vector: another model', mode: 'vector', opts: base({ embedModel: 'other-model' }) },
  {
    name: 'hybrid: the full-text match rises to the top',
    mode: 'hybrid',
    opts: base({ queryText: 'diesel engine' }),
    ftsMatches: [chunkId(3)],
  },
  { name: 'hybrid: another user', mode: 'hybrid', opts: base({ userId: BOB, queryText: 'diesel engines' }), ftsMatches: [chunkId(9)] },
  { name: 'hybrid: nothing matches the text', mode: 'hybrid', opts: base({ topK: 3, queryText: 'zeppelin' }), ftsMatches: [] },
  {
    name: 'hybrid: restricted to one document',
    mode: 'hybrid',
    opts: base({ queryText: 'turbochargers', documentIds: [ENGINES.documentId] }),
    ftsMatches: [chunkId(4)],
  },
];

export function buildCase(storage: EmbeddingStorage, c: SearchCase): SearchSql {
  return c.mode === 'hybrid' ? buildHybridSearchSql(storage, c.opts) : buildVectorSearchSql(storage, c.opts);
}

function visible(o: SearchSqlOptions): FixtureChunk[] {
  return CHUNKS.filter(
    (c) =>
      c.userId === o.userId &&
      c.model === o.embedModel &&
      c.version === o.embedVersion &&
      (!o.documentIds || o.documentIds.includes(c.documentId)),
  );
}

function vectorRanking(o: SearchSqlOptions): { chunk: FixtureChunk; score: number }[] {
  return visible(o)
    .map((chunk) => ({ chunk, score: cosine(chunk.embedding, o.vector) }))
    .sort((a, b) => b.score - a.score || a.chunk.chunkId.localeCompare(b.chunk.chunkId));
}

/** What the search must return: [chunk_id, score] best first. */
export function expected(c: SearchCase): [string, number][] {
  if (c.mode === 'vector') return vectorRanking(c.opts).slice(0, c.opts.topK).map((r) => [r.chunk.chunkId, r.score]);
  const fused = new Map<string, number>();
  const add = (id: string, rank: number) => fused.set(id, (fused.get(id) ?? 0) + 1 / (RRF_K + rank));
  vectorRanking(c.opts).forEach((r, i) => add(r.chunk.chunkId, i + 1));
  const allowed = new Set(visible(c.opts).map((x) => x.chunkId));
  (c.ftsMatches ?? []).filter((id) => allowed.has(id)).forEach((id, i) => add(id, i + 1));
  return [...fused.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, c.opts.topK);
}

/** Asserts rows against the expectation; returns a readable diff on failure through jest's expect. */
export function expectRows(rows: SearchRow[], c: SearchCase): void {
  const want = expected(c);
  expect(rows.map((r) => r.chunk_id)).toEqual(want.map(([id]) => id));
  rows.forEach((r, i) => expect(Number(r.score)).toBeCloseTo(want[i][1], 5));
  for (const r of rows) {
    const ch = CHUNKS.find((x) => x.chunkId === r.chunk_id);
    const d = DOCUMENTS.find((x) => x.documentId === ch?.documentId);
    expect(r).toMatchObject({ document_id: ch?.documentId, ord: ch?.ord, text: ch?.text, filename: d?.filename });
    expect([r.page_start, r.page_end]).toEqual([ch?.meta['page_start'] ?? null, ch?.meta['page_end'] ?? null]);
  }
}
