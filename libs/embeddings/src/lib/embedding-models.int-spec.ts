import { DataSource } from 'typeorm';
import { createDataSource, migratedTemplate } from '@app/database';
import type { Embedder } from '@app/embedder-client';
import { createTestDatabase, registerEmbeddingModel, TestDatabase } from '@app/testing';
import { BuildConflictError } from './embedding-model';
import { EmbeddingModelsService, ModelNotFoundError } from './embedding-models.service';

const USER = '00000000-0000-4000-8000-0000000000e1';
const DOC = '00000000-0000-4000-8000-0000000000d1';
const C1 = '10000000-0000-4000-8000-000000000001';
const C2 = '10000000-0000-4000-8000-000000000002';

/** The registry's own rules on a real PostgreSQL (no provider call is made by what is tested here). */
describe('EmbeddingModelsService (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const noEmbedder = {} as Embedder;
  const service = (inUseCacheMs = 0) =>
    new EmbeddingModelsService(ds, noEmbedder, { configured: { model: 'a', version: 1, dimensions: 3 }, inUseCacheMs });
  const chunk = (id: string, ord: number, model: string) =>
    ds.query(
      `INSERT INTO upload_pipeline.document_chunks
         (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count, embed_model, embed_version, embedding)
       VALUES ($1, $2, $3, 'md-token', 1, $4, 't', $5, 1, $6, 1, '{1,0,0}')`,
      [id, DOC, USER, ord, 'c'.repeat(64), model],
    );
  const rows = async () =>
    (await ds.query(`SELECT chunk_id, embed_model FROM upload_pipeline.document_chunks ORDER BY chunk_id, embed_model`)) as {
      chunk_id: string;
      embed_model: string;
    }[];

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    await registerEmbeddingModel(ds, 'a', 1, 3); // active
    await registerEmbeddingModel(ds, 'b', 1, 3); // retired
    await ds.query(
      `INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path)
       VALUES ($1, $2, 'x.md', 'text/markdown', 1, $3, 'k')`,
      [DOC, USER, 'f'.repeat(64)],
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('refuses to forget a retired model while some chunk has only its vectors; then forgets it and its rows', async () => {
    await chunk(C1, 0, 'a');
    await chunk(C1, 0, 'b');
    await chunk(C2, 1, 'b'); // finalized with the old model around a switch: not re-embedded yet
    const s = service();
    await expect(s.remove({ model: 'b', version: 1 })).rejects.toThrow(BuildConflictError);
    await expect(s.remove({ model: 'b', version: 1 })).rejects.toThrow(/1 chunks have only b v1 vectors/);
    expect(await rows()).toHaveLength(3);

    await chunk(C2, 1, 'a'); // the workers re-embedded it
    expect(await s.remove({ model: 'b', version: 1 })).toMatchObject({ model: 'b', version: 1, state: 'retired' });
    expect(await rows()).toEqual([
      { chunk_id: C1, embed_model: 'a' },
      { chunk_id: C2, embed_model: 'a' },
    ]);
    await expect(s.remove({ model: 'a', version: 1 })).rejects.toThrow(/is the active model/);
    await expect(s.remove({ model: 'b', version: 1 })).rejects.toThrow(ModelNotFoundError);
  });

  it('answers inUse() from its cache until invalidated, and reads afresh when asked', async () => {
    const s = service(60_000);
    expect((await s.inUse()).active).toMatchObject({ model: 'a', version: 1 });
    await registerEmbeddingModel(ds, 'c', 1, 3);
    await ds.query(`UPDATE upload_pipeline.embedding_models SET state = 'building', retired_at = NULL WHERE embed_model = 'c'`);
    expect((await s.inUse()).building).toBeNull(); // cached
    expect((await s.inUse(undefined, { fresh: true })).building).toMatchObject({ model: 'c' });
    s.invalidate();
    expect((await s.inUse()).building).toMatchObject({ model: 'c' });
    await ds.query(`DELETE FROM upload_pipeline.embedding_models WHERE embed_model = 'c'`);
  });
});
