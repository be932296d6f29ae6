import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate, readEmbeddingSettings } from '@app/database';
import { createTestDatabase, registerEmbeddingModel, TestDatabase } from '@app/testing';
import { buildCase, CHUNKS, DOCUMENTS, expectRows, MODEL, SEARCH_CASES } from '../../test/search-fixture';
import { buildVectorSearchSql, SearchRow } from './search-sql';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The real[] storage (this PostgreSQL has no pgvector): exact cosine in SQL. pgvector: search.pgvector.int-spec.ts. */
describe('search SQL on real[] embeddings (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    for (const d of DOCUMENTS) {
      await ds.query(
        `INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path)
         VALUES ($1, $2, $3, 'text/markdown', 10, $4, $5)`,
        [d.documentId, d.userId, d.filename, sha(d.documentId), `users/${d.userId}/documents/${d.documentId}/raw`],
      );
    }
    // chunks reference a registered embedding model: the fixture's own one (active), then the others (retired)
    await registerEmbeddingModel(ds, MODEL, 1, 4);
    for (const c of CHUNKS) await registerEmbeddingModel(ds, c.model, c.version, 4);
    for (const c of CHUNKS) {
      await ds.query(
        `INSERT INTO upload_pipeline.document_chunks
           (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count, embed_model, embed_version, embedding, meta)
         VALUES ($1, $2, $3, 'md-token', 1, $4, $5, $6, 5, $7, $8, $9::real[], $10::jsonb)`,
        [c.chunkId, c.documentId, c.userId, c.ord, c.text, sha(c.text), c.model, c.version, c.embedding, JSON.stringify(c.meta)],
      );
    }
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('the migration chose real[] here', async () => {
    expect(await readEmbeddingSettings(ds)).toEqual({ storage: 'real_array', dimensions: null });
  });

  it.each(SEARCH_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const built = buildCase('real_array', c);
    expect(built.prelude).toEqual([]);
    expectRows((await ds.query(built.sql, built.params)) as SearchRow[], c);
  });

  it('skips vectors of another length instead of failing', async () => {
    const built = buildVectorSearchSql('real_array', { ...SEARCH_CASES[0].opts, vector: [1, 0, 0] });
    expect(await ds.query(built.sql, built.params)).toEqual([]);
  });
});
