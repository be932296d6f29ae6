import { MigrationInterface, QueryRunner } from 'typeorm';
import { JOB_STATES, STAGES, EVENT_TYPES } from '@app/state-machine';
import { JOBS_NOTIFY_CHANNEL, PROCESSING_STATUSES } from '../schema';

const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

export interface InitialSchemaOptions {
  /** Dimension of the pgvector column (only used when the `vector` extension is available). */
  embeddingDimensions: number;
}

/**
 * The whole `upload_pipeline` schema. The embedding column of `document_chunks` is chosen here:
 * pgvector `vector(N)` with an HNSW cosine index when the extension is available, `real[]` otherwise.
 * The choice is recorded in `schema_settings` so the apps read it rather than guess.
 */
export function initialSchemaMigration(opts: InitialSchemaOptions): new () => MigrationInterface {
  const dims = opts.embeddingDimensions;
  if (!Number.isInteger(dims) || dims < 1 || dims > 16000) throw new Error(`invalid embedding dimensions ${dims}`);

  return class InitialSchema1732350000000 implements MigrationInterface {
    name = 'InitialSchema1732350000000';

    async up(q: QueryRunner): Promise<void> {
      await q.query(`CREATE SCHEMA IF NOT EXISTS upload_pipeline`);

      await q.query(`
        CREATE TABLE upload_pipeline.schema_settings (
          key text PRIMARY KEY,
          value jsonb NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now()
        )`);

      await q.query(`
        CREATE TABLE upload_pipeline.documents (
          document_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          user_id uuid NOT NULL,
          filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
          mime text NOT NULL,
          bytes_len bigint NOT NULL CHECK (bytes_len > 0),
          file_sha256 char(64) NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
          parsed_sha256 char(64) CHECK (parsed_sha256 ~ '^[0-9a-f]{64}$'),
          raw_path text NOT NULL,
          parsed_path text,
          processing_status text NOT NULL DEFAULT 'pending' CHECK (processing_status IN (${list(PROCESSING_STATUSES)})),
          ocr boolean NOT NULL DEFAULT false,
          page_count int,
          chunk_count int,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT documents_user_sha_key UNIQUE (user_id, file_sha256)
        )`);
      await q.query(`CREATE INDEX documents_user_created_idx ON upload_pipeline.documents (user_id, created_at DESC)`);

      await q.query(`
        CREATE TABLE upload_pipeline.upload_jobs (
          job_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          document_id uuid NOT NULL UNIQUE REFERENCES upload_pipeline.documents (document_id) ON DELETE CASCADE,
          user_id uuid NOT NULL,
          stage text NOT NULL CHECK (stage IN (${list(STAGES)})),
          state text NOT NULL CHECK (state IN (${list(JOB_STATES)})),
          retry_count int NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
          next_attempt_at timestamptz,
          progress jsonb NOT NULL DEFAULT '{}'::jsonb,
          last_error jsonb,
          claimed_by text,
          lease_expires_at timestamptz,
          webhook_secret text NOT NULL,
          parser_job_id text,
          embed_model text NOT NULL,
          embed_version int NOT NULL DEFAULT 1,
          correlation_id text NOT NULL,
          upload_expires_at timestamptz,
          completed_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT upload_jobs_done_iff_complete CHECK ((state = 'done') = (stage = 'complete')),
          CONSTRAINT upload_jobs_working_has_lease CHECK (
            state <> 'working' OR (claimed_by IS NOT NULL AND lease_expires_at IS NOT NULL)),
          CONSTRAINT upload_jobs_retryable_has_time CHECK (state <> 'retryable' OR next_attempt_at IS NOT NULL)
        )`);
      // Claim paths: ready now, due retries / webhook timeouts, expired leases.
      await q.query(`CREATE INDEX upload_jobs_queued_idx ON upload_pipeline.upload_jobs (created_at) WHERE state = 'queued'`);
      await q.query(
        `CREATE INDEX upload_jobs_due_idx ON upload_pipeline.upload_jobs (next_attempt_at) WHERE state IN ('retryable', 'waiting')`,
      );
      await q.query(
        `CREATE INDEX upload_jobs_lease_idx ON upload_pipeline.upload_jobs (lease_expires_at) WHERE state = 'working'`,
      );
      await q.query(`CREATE INDEX upload_jobs_user_created_idx ON upload_pipeline.upload_jobs (user_id, created_at DESC, job_id)`);
      await q.query(`CREATE INDEX upload_jobs_stage_state_idx ON upload_pipeline.upload_jobs (stage, state)`);

      // Wake workers when a job becomes ready. NOTIFY is delivered on commit, so a worker never sees
      // a job before the transaction that queued it is visible.
      await q.query(`
        CREATE FUNCTION upload_pipeline.notify_job_ready() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('${JOBS_NOTIFY_CHANNEL}', NEW.stage);
          RETURN NULL;
        END $$`);
      await q.query(`
        CREATE TRIGGER upload_jobs_notify_ready
        AFTER INSERT OR UPDATE OF state, stage ON upload_pipeline.upload_jobs
        FOR EACH ROW WHEN (NEW.state = 'queued')
        EXECUTE FUNCTION upload_pipeline.notify_job_ready()`);

      await q.query(`
        CREATE TABLE upload_pipeline.events (
          event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          job_id uuid NOT NULL REFERENCES upload_pipeline.upload_jobs (job_id) ON DELETE CASCADE,
          document_id uuid NOT NULL,
          event_type text NOT NULL CHECK (event_type IN (${list(EVENT_TYPES)})),
          stage text NOT NULL CHECK (stage IN (${list(STAGES)})),
          from_stage text CHECK (from_stage IN (${list(STAGES)})),
          from_state text CHECK (from_state IN (${list(JOB_STATES)})),
          to_state text NOT NULL CHECK (to_state IN (${list(JOB_STATES)})),
          correlation_id text NOT NULL,
          actor text,
          detail jsonb,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE INDEX events_job_idx ON upload_pipeline.events (job_id, event_id)`);

      await q.query(`
        CREATE TABLE upload_pipeline.document_chunk_buffer (
          chunk_id uuid PRIMARY KEY,
          document_id uuid NOT NULL REFERENCES upload_pipeline.documents (document_id) ON DELETE CASCADE,
          chunker text NOT NULL,
          chunker_version int NOT NULL,
          ord int NOT NULL CHECK (ord >= 0),
          text text NOT NULL CHECK (length(text) > 0),
          chunk_sha char(64) NOT NULL,
          token_count int NOT NULL CHECK (token_count > 0),
          meta jsonb NOT NULL DEFAULT '{}'::jsonb,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT chunk_buffer_doc_ord_key UNIQUE (document_id, chunker, chunker_version, ord)
        )`);

      await q.query(`
        CREATE TABLE upload_pipeline.document_vector_buffer (
          chunk_id uuid NOT NULL REFERENCES upload_pipeline.document_chunk_buffer (chunk_id) ON DELETE CASCADE,
          embed_model text NOT NULL,
          embed_version int NOT NULL,
          document_id uuid NOT NULL REFERENCES upload_pipeline.documents (document_id) ON DELETE CASCADE,
          embedding real[] NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (chunk_id, embed_model, embed_version)
        )`);
      await q.query(`CREATE INDEX vector_buffer_doc_idx ON upload_pipeline.document_vector_buffer (document_id)`);

      const [{ available }] = (await q.query(
        `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available`,
      )) as { available: boolean }[];
      if (available) await q.query(`CREATE EXTENSION IF NOT EXISTS vector`);
      const embeddingType = available ? `vector(${dims})` : 'real[]';

      await q.query(`
        CREATE TABLE upload_pipeline.document_chunks (
          chunk_id uuid PRIMARY KEY,
          document_id uuid NOT NULL REFERENCES upload_pipeline.documents (document_id) ON DELETE CASCADE,
          user_id uuid NOT NULL,
          chunker text NOT NULL,
          chunker_version int NOT NULL,
          ord int NOT NULL CHECK (ord >= 0),
          text text NOT NULL,
          chunk_sha char(64) NOT NULL,
          token_count int NOT NULL,
          embed_model text NOT NULL,
          embed_version int NOT NULL,
          embedding ${embeddingType} NOT NULL,
          meta jsonb NOT NULL DEFAULT '{}'::jsonb,
          tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT document_chunks_doc_ord_key UNIQUE (document_id, chunker, chunker_version, ord)
        )`);
      await q.query(`CREATE INDEX document_chunks_user_idx ON upload_pipeline.document_chunks (user_id, embed_model, embed_version)`);
      await q.query(`CREATE INDEX document_chunks_tsv_idx ON upload_pipeline.document_chunks USING gin (tsv)`);
      if (available) {
        await q.query(
          `CREATE INDEX document_chunks_embedding_hnsw ON upload_pipeline.document_chunks USING hnsw (embedding vector_cosine_ops)`,
        );
      }

      await q.query(`
        CREATE TABLE upload_pipeline.webhook_log (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          job_id uuid NOT NULL REFERENCES upload_pipeline.upload_jobs (job_id) ON DELETE CASCADE,
          source text NOT NULL,
          body_sha256 char(64) NOT NULL,
          parser_job_id text,
          status text,
          received_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT webhook_log_replay_key UNIQUE (job_id, body_sha256)
        )`);

      await q.query(
        `INSERT INTO upload_pipeline.schema_settings (key, value) VALUES ('embedding', $1::jsonb)`,
        [JSON.stringify({ storage: available ? 'pgvector' : 'real_array', dimensions: available ? dims : null })],
      );
    }

    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.webhook_log`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.document_chunks`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.document_vector_buffer`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.document_chunk_buffer`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.events`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.upload_jobs`);
      await q.query(`DROP FUNCTION IF EXISTS upload_pipeline.notify_job_ready()`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.documents`);
      await q.query(`DROP TABLE IF EXISTS upload_pipeline.schema_settings`);
    }
  };
}
