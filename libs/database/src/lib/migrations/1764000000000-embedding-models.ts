import { MigrationInterface, QueryRunner } from 'typeorm';
import { EMBEDDING_MODEL_STATES } from '../schema';

const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

/**
 * Re-embedding side by side: `embedding_models` registers every (model, version) whose vectors the database
 * holds, with at most one `active` (the one search reads and new documents are embedded with) and at most one
 * `building` (being filled in next to it). `document_chunks` gets one row per chunk and model, so the key
 * widens to (chunk_id, embed_model, embed_version); the old (chunk_id) and (document, chunker, version, ord)
 * keys hold per model. Models already present in the data are registered: the most used one active, the
 * rest retired (their rows are replaced by the worker's re-embedding loop).
 */
export class EmbeddingModels1764000000000 implements MigrationInterface {
  name = 'EmbeddingModels1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE upload_pipeline.embedding_models (
        embed_model text NOT NULL CHECK (length(embed_model) BETWEEN 1 AND 200),
        embed_version int NOT NULL CHECK (embed_version >= 1),
        dimensions int NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
        state text NOT NULL CHECK (state IN (${list(EMBEDDING_MODEL_STATES)})),
        requested_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz,
        retired_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (embed_model, embed_version),
        CONSTRAINT embedding_models_active_has_time CHECK (state <> 'active' OR activated_at IS NOT NULL)
      )`);
    await q.query(`CREATE UNIQUE INDEX embedding_models_one_active ON upload_pipeline.embedding_models ((true)) WHERE state = 'active'`);
    await q.query(
      `CREATE UNIQUE INDEX embedding_models_one_building ON upload_pipeline.embedding_models ((true)) WHERE state = 'building'`,
    );

    const [{ value }] = (await q.query(`SELECT value FROM upload_pipeline.schema_settings WHERE key = 'embedding'`)) as {
      value: { storage: string; dimensions: number | null };
    }[];
    const dims = value.storage === 'pgvector' ? `${Number(value.dimensions)}` : 'cardinality(embedding)';
    await q.query(`
      INSERT INTO upload_pipeline.embedding_models (embed_model, embed_version, dimensions, state, activated_at, retired_at)
      SELECT embed_model, embed_version, dims, CASE WHEN rn = 1 THEN 'active' ELSE 'retired' END,
             CASE WHEN rn = 1 THEN now() END, CASE WHEN rn = 1 THEN NULL ELSE now() END
      FROM (
        SELECT embed_model, embed_version, max(dims) AS dims,
               row_number() OVER (ORDER BY sum(n) DESC, embed_model, embed_version) AS rn
        FROM (
          SELECT embed_model, embed_version, max(${dims}) AS dims, count(*) AS n
          FROM upload_pipeline.document_chunks GROUP BY 1, 2
          UNION ALL
          SELECT embed_model, embed_version, max(cardinality(embedding)), count(*)
          FROM upload_pipeline.document_vector_buffer GROUP BY 1, 2
        ) AS used
        GROUP BY embed_model, embed_version
      ) AS ranked`);

    await q.query(`ALTER TABLE upload_pipeline.document_chunks DROP CONSTRAINT document_chunks_pkey`);
    await q.query(`ALTER TABLE upload_pipeline.document_chunks ADD PRIMARY KEY (chunk_id, embed_model, embed_version)`);
    await q.query(`ALTER TABLE upload_pipeline.document_chunks DROP CONSTRAINT document_chunks_doc_ord_key`);
    await q.query(`
      ALTER TABLE upload_pipeline.document_chunks ADD CONSTRAINT document_chunks_doc_ord_key
        UNIQUE (document_id, chunker, chunker_version, ord, embed_model, embed_version)`);
    // Rows of one model: the re-embedding loop walks them by chunk_id; deleting a model cascades through it.
    await q.query(
      `CREATE INDEX document_chunks_model_idx ON upload_pipeline.document_chunks (embed_model, embed_version, chunk_id)`,
    );
    await q.query(`
      ALTER TABLE upload_pipeline.document_chunks ADD CONSTRAINT document_chunks_model_fkey
        FOREIGN KEY (embed_model, embed_version) REFERENCES upload_pipeline.embedding_models (embed_model, embed_version)
        ON DELETE CASCADE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE upload_pipeline.document_chunks DROP CONSTRAINT document_chunks_model_fkey`);
    // One row per chunk again: keep the active model's rows where a chunk has several.
    await q.query(`
      DELETE FROM upload_pipeline.document_chunks c
      USING upload_pipeline.embedding_models m
      WHERE m.embed_model = c.embed_model AND m.embed_version = c.embed_version AND m.state <> 'active'
        AND EXISTS (SELECT 1 FROM upload_pipeline.document_chunks o WHERE o.chunk_id = c.chunk_id
                    AND (o.embed_model, o.embed_version) <> (c.embed_model, c.embed_version))`);
    await q.query(`DROP INDEX upload_pipeline.document_chunks_model_idx`);
    await q.query(`ALTER TABLE upload_pipeline.document_chunks DROP CONSTRAINT document_chunks_doc_ord_key`);
    await q.query(
      `ALTER TABLE upload_pipeline.document_chunks ADD CONSTRAINT document_chunks_doc_ord_key UNIQUE (document_id, chunker, chunker_version, ord)`,
    );
    await q.query(`ALTER TABLE upload_pipeline.document_chunks DROP CONSTRAINT document_chunks_pkey`);
    await q.query(`ALTER TABLE upload_pipeline.document_chunks ADD PRIMARY KEY (chunk_id)`);
    await q.query(`DROP TABLE upload_pipeline.embedding_models`);
  }
}
