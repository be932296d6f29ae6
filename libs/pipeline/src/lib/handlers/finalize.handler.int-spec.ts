import { DataSource, EntityManager } from 'typeorm';
import { TransientError } from '@app/circuit-breaker';
import { createDataSource, DocumentEntity, migratedTemplate } from '@app/database';
import type { Embedder } from '@app/embedder-client';
import { EmbeddingModelsService } from '@app/embeddings';
import { createTestDatabase, registerEmbeddingModel, TestDatabase } from '@app/testing';
import type { JobContext } from '../job-context';
import { FinalizeHandler } from './finalize.handler';

const USER = '00000000-0000-4000-8000-0000000000f1';
const DOC = '00000000-0000-4000-8000-0000000000f2';
const C = ['20000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000003'];

/** The finalize statement (one statement, conditional on every chunk having a vector) on a real PostgreSQL. */
describe('FinalizeHandler (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let handler: FinalizeHandler;

  const count = async (sql: string): Promise<number> => Number(((await ds.query(sql, [DOC])) as { n: string }[])[0].n);
  const state = async () => ({
    chunkBuffer: await count(`SELECT count(*) AS n FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1`),
    vectorBuffer: await count(`SELECT count(*) AS n FROM upload_pipeline.document_vector_buffer WHERE document_id = $1`),
    chunks: await count(`SELECT count(*) AS n FROM upload_pipeline.document_chunks WHERE document_id = $1`),
    chunkCount: await count(`SELECT coalesce(chunk_count, -1) AS n FROM upload_pipeline.documents WHERE document_id = $1`),
  });
  const vector = (chunkId: string, model: string) =>
    ds.query(
      `INSERT INTO upload_pipeline.document_vector_buffer (chunk_id, embed_model, embed_version, document_id, embedding)
       VALUES ($1, $2, 1, $3, '{1,0,0}')`,
      [chunkId, model, DOC],
    );
  /** Runs the stage's commit in a transaction, as the runner does with the final transition. */
  const finalize = async (): Promise<void> => {
    const document = { documentId: DOC, userId: USER } as DocumentEntity;
    const result = await handler.run({ document } as JobContext);
    if (result.type !== 'advance' || !result.commit) throw new Error('finalize must commit with the transition');
    const commit = result.commit;
    await ds.transaction((m: EntityManager) => commit(m));
  };

  beforeAll(async () => {
    db = await createTestDatabase(migratedTemplate());
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    await registerEmbeddingModel(ds, 'a', 1, 3); // active
    await registerEmbeddingModel(ds, 'b', 1, 3); // a second registered model (as while a re-embedding builds)
    const models = new EmbeddingModelsService(ds, {} as Embedder, { configured: { model: 'a', version: 1, dimensions: 3 }, inUseCacheMs: 0 });
    handler = new FinalizeHandler(models);
    await ds.query(
      `INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path)
       VALUES ($1, $2, 'x.md', 'text/markdown', 1, $3, 'k')`,
      [DOC, USER, 'f'.repeat(64)],
    );
    for (const [ord, id] of C.entries()) {
      await ds.query(
        `INSERT INTO upload_pipeline.document_chunk_buffer (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count)
         VALUES ($1, $2, 'md-token', 1, $3, $4, $5, 2)`,
        [id, DOC, ord, `chunk ${ord}`, String(ord).repeat(64)],
      );
    }
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('changes nothing while a chunk has no vector of a registered model, and says how many', async () => {
    await vector(C[0], 'a');
    await vector(C[1], 'a');
    await vector(C[2], 'gone'); // a model no longer registered (a cancelled build) does not count
    await expect(finalize()).rejects.toThrow(TransientError);
    await expect(finalize()).rejects.toThrow('1 chunks have no vector yet');
    expect(await state()).toEqual({ chunkBuffer: 3, vectorBuffer: 3, chunks: 0, chunkCount: -1 });
  });

  it('moves every chunk with each registered model\'s vector, empties both buffers and counts distinct chunks', async () => {
    await vector(C[2], 'a');
    await vector(C[0], 'b'); // the model being built has a vector for one chunk
    await finalize();
    // 3 chunks x model a + 1 x model b; the unregistered model's vector is dropped with the buffer
    expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 4, chunkCount: 3 });
    const rows = (await ds.query(
      `SELECT chunk_id, embed_model, text FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord, embed_model`,
      [DOC],
    )) as { chunk_id: string; embed_model: string; text: string }[];
    expect(rows).toEqual([
      { chunk_id: C[0], embed_model: 'a', text: 'chunk 0' },
      { chunk_id: C[0], embed_model: 'b', text: 'chunk 0' },
      { chunk_id: C[1], embed_model: 'a', text: 'chunk 1' },
      { chunk_id: C[2], embed_model: 'a', text: 'chunk 2' },
    ]);
  });

  it('run again with empty buffers: writes nothing twice and keeps the count', async () => {
    await finalize();
    expect(await state()).toEqual({ chunkBuffer: 0, vectorBuffer: 0, chunks: 4, chunkCount: 3 });
  });
});
