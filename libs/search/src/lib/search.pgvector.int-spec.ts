import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { ALICE, BOB, BOBS, buildCase, CHUNKS, DIMS, DOCUMENTS, ENGINES, expectRows, MODEL, QUERY_VECTOR, SEARCH_CASES } from '../../test/search-fixture';
import { buildVectorSearchSql, SearchRow, SearchSql, toVectorLiteral } from './search-sql';
import { supportsIterativeScan } from './search.service';

/**
 * The pgvector storage, on real pgvector running in-process (PGlite). The tables are the columns the
 * search reads, declared as the initial migration's pgvector branch declares them (vector(N), HNSW
 * cosine index, generated tsvector with a GIN index).
 */
const DDL = `
  CREATE SCHEMA upload_pipeline;
  CREATE TABLE upload_pipeline.documents (
    document_id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    filename text NOT NULL
  );
  CREATE TABLE upload_pipeline.document_chunks (
    chunk_id uuid PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES upload_pipeline.documents (document_id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    ord int NOT NULL CHECK (ord >= 0),
    text text NOT NULL,
    embed_model text NOT NULL,
    embed_version int NOT NULL,
    embedding vector(${DIMS}) NOT NULL,
    meta jsonb NOT NULL DEFAULT '{}'::jsonb,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
  );
  CREATE INDEX document_chunks_user_idx ON upload_pipeline.document_chunks (user_id, embed_model, embed_version);
  CREATE INDEX document_chunks_tsv_idx ON upload_pipeline.document_chunks USING gin (tsv);
  CREATE INDEX document_chunks_embedding_hnsw ON upload_pipeline.document_chunks USING hnsw (embedding vector_cosine_ops);
`;

describe('search SQL on pgvector (PGlite with pgvector)', () => {
  let pg: PGlite;
  let iterativeScan = false;

  /** What SearchService does: the prelude and the query in one transaction. */
  const run = (q: SearchSql) =>
    pg.transaction(async (tx) => {
      for (const s of q.prelude) await tx.exec(s);
      return (await tx.query<SearchRow>(q.sql, q.params)).rows;
    });

  beforeAll(async () => {
    pg = await PGlite.create({ extensions: { vector } });
    await pg.exec('CREATE EXTENSION IF NOT EXISTS vector');
    await pg.exec(DDL);
    const [{ extversion }] = (await pg.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`)).rows;
    iterativeScan = supportsIterativeScan(extversion);
    for (const d of DOCUMENTS) {
      await pg.query(`INSERT INTO upload_pipeline.documents (document_id, user_id, filename) VALUES ($1, $2, $3)`, [d.documentId, d.userId, d.filename]);
    }
    for (const c of CHUNKS) {
      await pg.query(
        `INSERT INTO upload_pipeline.document_chunks (chunk_id, document_id, user_id, ord, text, embed_model, embed_version, embedding, meta)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::vector, $9::jsonb)`,
        [c.chunkId, c.documentId, c.userId, c.ord, c.text, c.model, c.version, toVectorLiteral(c.embedding), JSON.stringify(c.meta)],
      );
    }
  }, 60_000);
  afterAll(async () => {
    await pg?.close();
  });

  it.each(SEARCH_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expectRows(await run(buildCase('pgvector', { ...c, opts: { ...c.opts, iterativeScan } })), c);
  });

  describe('with thousands of other vectors nearer to the query', () => {
    const NOISE = '20000000-0000-4000-8000-0000000000ff';
    const noise = (documentId: string, userId: string) =>
      pg.query(
        `INSERT INTO upload_pipeline.document_chunks (chunk_id, document_id, user_id, ord, text, embed_model, embed_version, embedding)
         SELECT gen_random_uuid(), $1, $2, i, 'noise ' || i, $3, 1,
                ('[1,' || (i % 97) / 1000.0 || ',' || (i % 89) / 1000.0 || ',' || (i % 83) / 1000.0 || ']')::vector
         FROM generate_series(1000, 3999) AS i`,
        [documentId, userId, MODEL],
      );
    const plan = async (q: SearchSql) =>
      pg.transaction(async (tx) => {
        for (const s of q.prelude) await tx.exec(s);
        return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.sql}`, q.params)).rows.map((r) => r['QUERY PLAN']).join('\n');
      });

    beforeAll(async () => {
      // Bob's chunks, and Alice's in a third document, are all closer to the query than any chunk of
      // Alice's ENGINES document: an HNSW scan that only filtered its first ef_search candidates would
      // find nothing in ENGINES.
      await pg.query(`INSERT INTO upload_pipeline.documents (document_id, user_id, filename) VALUES ($1, $2, 'noise.md')`, [NOISE, ALICE]);
      await noise(NOISE, ALICE);
      await noise(BOBS.documentId, BOB);
      await pg.exec('ANALYZE upload_pipeline.document_chunks');
    }, 60_000);

    it('the vector search is served by the HNSW index', async () => {
      const q = buildVectorSearchSql('pgvector', { vector: QUERY_VECTOR, userId: BOB, embedModel: MODEL, embedVersion: 1, topK: 10, iterativeScan });
      expect(await plan(q)).toContain('document_chunks_embedding_hnsw');
      const rows = await run(q);
      expect(rows).toHaveLength(10);
      for (let i = 1; i < rows.length; i++) expect(rows[i - 1].score).toBeGreaterThanOrEqual(rows[i].score);
    });

    it('a search within one document still finds its chunks when the HNSW index serves it (iterative scan)', async () => {
      // The planner rightly prefers an exact scan for so selective a filter; when it misjudges and takes
      // the index (forced here by penalising sorts), the search must still be right.
      for (const c of SEARCH_CASES.filter((x) => x.opts.documentIds?.includes(ENGINES.documentId))) {
        const built = buildCase('pgvector', { ...c, opts: { ...c.opts, iterativeScan } });
        const q = { ...built, prelude: [...built.prelude, 'SET LOCAL enable_sort = off'] };
        expect(await plan(q)).toContain('document_chunks_embedding_hnsw');
        expectRows(await run(q), c);
      }
    });
  });
});
