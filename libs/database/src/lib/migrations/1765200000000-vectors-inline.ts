import { MigrationInterface, QueryRunner } from 'typeorm';

/** The two tables whose rows carry an embedding. */
const TABLES = ['document_chunks', 'document_vector_buffer'] as const;
/** The largest tuple target PostgreSQL accepts (TOAST_TUPLE_TARGET_MAIN: what fits a heap page of 8 kB). */
const TUPLE_TARGET = 8160;
const STORAGE_NAMES: Record<string, string> = { p: 'PLAIN', e: 'EXTERNAL', m: 'MAIN', x: 'EXTENDED' };

/**
 * Keeps an embedding inside its row (decisions.md #32). A 1,536-float vector is 6 kB: with the defaults (storage
 * EXTENDED, rows toasted past ~2 kB) PostgreSQL first tried to compress it with pglz (floats do not compress: about
 * 5 % of PostgreSQL's CPU in the benchmark) and then stored it out of line in four TOAST rows with their index entries,
 * which every exact search scan had to fetch back. Storage MAIN with a tuple target of 8,160 bytes leaves a row that
 * fits a page as it is; a larger one first has its text and tsvector compressed (EXTENDED), and only a vector that
 * cannot fit a page at all (over ~2,000 dimensions) is compressed and then moved out of line, as before.
 *
 * Catalog changes only (no table rewrite): rows stored earlier keep their layout until they are written again.
 */
export class VectorsInline1765200000000 implements MigrationInterface {
  name = 'VectorsInline1765200000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(`ALTER TABLE upload_pipeline.${table} SET (toast_tuple_target = ${TUPLE_TARGET})`);
      await q.query(`ALTER TABLE upload_pipeline.${table} ALTER COLUMN embedding SET STORAGE MAIN`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      // back to the column type's own storage (EXTENDED for real[], EXTERNAL for pgvector's vector)
      const [{ typstorage }] = (await q.query(
        `SELECT t.typstorage FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = 'upload_pipeline.${table}'::regclass AND a.attname = 'embedding'`,
      )) as { typstorage: string }[];
      await q.query(`ALTER TABLE upload_pipeline.${table} ALTER COLUMN embedding SET STORAGE ${STORAGE_NAMES[typstorage]}`);
      await q.query(`ALTER TABLE upload_pipeline.${table} RESET (toast_tuple_target)`);
    }
  }
}
