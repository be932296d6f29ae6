import { buildHybridSearchSql, buildVectorSearchSql, MAX_SEARCH_TOP_K, SearchSqlOptions, toVectorLiteral } from './search-sql';
import { supportsIterativeScan } from './search.service';

const opts: SearchSqlOptions = { vector: [0.5, -0.25], userId: 'u', embedModel: 'm', embedVersion: 1, topK: 5 };

describe('search SQL builders (pure)', () => {
  it('refuses a top_k outside 1..50 and vectors that are not finite', () => {
    for (const topK of [0, MAX_SEARCH_TOP_K + 1, 1.5]) expect(() => buildVectorSearchSql('pgvector', { ...opts, topK })).toThrow(RangeError);
    expect(() => buildVectorSearchSql('real_array', { ...opts, vector: [] })).toThrow(RangeError);
    expect(() => buildVectorSearchSql('real_array', { ...opts, vector: [1, Number.NaN] })).toThrow(RangeError);
    expect(() => buildHybridSearchSql('real_array', { ...opts, queryText: '  ' })).toThrow(RangeError);
  });

  it('passes every value as a parameter, never inside the SQL text', () => {
    const evil = "x'); DROP TABLE upload_pipeline.documents; --";
    const built = buildHybridSearchSql('pgvector', { ...opts, userId: evil, embedModel: evil, queryText: evil, documentIds: [evil] });
    expect(built.sql).not.toContain(evil);
    expect(built.params).toContain(evil);
    expect(built.params).toContain(toVectorLiteral(opts.vector));
  });

  it('pgvector orders by the cosine-distance operator (what the HNSW index serves) and sizes ef_search', () => {
    const v = buildVectorSearchSql('pgvector', { ...opts, topK: 50, iterativeScan: true });
    expect(v.sql).toMatch(/ORDER BY c\.embedding <=> \$1::vector/);
    expect(v.prelude).toEqual(['SET LOCAL hnsw.ef_search = 100', 'SET LOCAL hnsw.iterative_scan = strict_order']);
    expect(buildVectorSearchSql('pgvector', opts).prelude).toEqual(['SET LOCAL hnsw.ef_search = 100']);
    // hybrid asks each ranking for max(40, 4 x top_k) candidates: without iterative scans ef_search must
    // cover them; with them it stays at 100 (at 200 the planner chose a full scan over 100k chunks)
    expect(buildHybridSearchSql('pgvector', { ...opts, topK: 50, queryText: 'kestrel' }).prelude).toEqual(['SET LOCAL hnsw.ef_search = 200']);
    expect(buildHybridSearchSql('pgvector', { ...opts, topK: 50, queryText: 'kestrel', iterativeScan: true }).prelude).toEqual([
      'SET LOCAL hnsw.ef_search = 100',
      'SET LOCAL hnsw.iterative_scan = strict_order',
    ]);
    expect(buildVectorSearchSql('real_array', opts).prelude).toEqual([]);
  });

  it('knows which pgvector versions have iterative index scans', () => {
    expect(supportsIterativeScan('0.8.0')).toBe(true);
    expect(supportsIterativeScan('0.8.7')).toBe(true);
    expect(supportsIterativeScan('1.0.0')).toBe(true);
    expect(supportsIterativeScan('0.7.4')).toBe(false);
    expect(supportsIterativeScan(undefined)).toBe(false);
  });
});
