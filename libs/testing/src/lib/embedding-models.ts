/** Anything with pg's or TypeORM's `query(sql, params)`. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Registers an embedding model in `upload_pipeline.embedding_models`, so that tests can insert chunks of it
 * directly (`document_chunks` references the registry). The first model registered in a database becomes
 * the active one, as the configured model does in the apps; later ones are retired. Idempotent.
 */
export async function registerEmbeddingModel(db: Queryable, model: string, version = 1, dimensions = 1536): Promise<void> {
  await db.query(
    `INSERT INTO upload_pipeline.embedding_models (embed_model, embed_version, dimensions, state, activated_at, retired_at, requested_by)
     SELECT $1, $2, $3, s.state, CASE WHEN s.state = 'active' THEN now() END, CASE WHEN s.state = 'retired' THEN now() END, 'test'
     FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM upload_pipeline.embedding_models WHERE state = 'active')
                  THEN 'retired' ELSE 'active' END AS state) AS s
     ON CONFLICT (embed_model, embed_version) DO NOTHING`,
    [model, version, dimensions],
  );
}
