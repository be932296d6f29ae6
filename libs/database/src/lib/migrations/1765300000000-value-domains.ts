import { MigrationInterface, QueryRunner } from 'typeorm';
import { EVENT_TYPES, JOB_STATES, STAGES } from '@app/state-machine';
import { PROCESSING_STATUSES } from '../schema';

const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

/** A domain over text whose one constraint is the list of values a column may hold. */
interface ValueDomain {
  name: string;
  values: readonly string[];
  /** The columns of that kind. */
  columns: { table: string; column: string }[];
}

/** The name PostgreSQL gave the column's CHECK constraint in the initial schema (`<table>_<column>_check`). */
const checkName = (c: { table: string; column: string }) => `${c.table}_${c.column}_check`;

const DOMAINS: readonly ValueDomain[] = [
  {
    name: 'stage_value',
    values: STAGES,
    columns: [
      { table: 'upload_jobs', column: 'stage' },
      { table: 'events', column: 'stage' },
      { table: 'events', column: 'from_stage' },
    ],
  },
  {
    name: 'job_state_value',
    values: JOB_STATES,
    columns: [
      { table: 'upload_jobs', column: 'state' },
      { table: 'events', column: 'from_state' },
      { table: 'events', column: 'to_state' },
    ],
  },
  {
    name: 'event_type_value',
    values: EVENT_TYPES,
    columns: [{ table: 'events', column: 'event_type' }],
  },
  {
    name: 'processing_status_value',
    values: PROCESSING_STATUSES,
    columns: [{ table: 'documents', column: 'processing_status' }],
  },
];

/** The jobs table's NOTIFY trigger names `state` and `stage`: PostgreSQL refuses to change their type under it. */
const NOTIFY_TRIGGER = `
  CREATE TRIGGER upload_jobs_notify_ready
  AFTER INSERT OR UPDATE OF state, stage ON upload_pipeline.upload_jobs
  FOR EACH ROW WHEN (NEW.state = 'queued')
  EXECUTE FUNCTION upload_pipeline.notify_job_ready()`;

/**
 * The columns that hold one of a fixed list of names (a job's stage and state, an event's type, a document's
 * processing status) take a domain whose constraint is the list, instead of a CHECK constraint of their table
 * (decisions.md #34). Same rule, same error (check_violation, 23514), but PostgreSQL reads a table's CHECK
 * constraints from their stored text again at EVERY statement that writes the table (ExecRelCheck: stringToNode,
 * then ExecPrepareExpr), and an `IN (...)` list is stored as a constant array printed byte by byte: the node reader
 * (pg_strtok, strtol) was about 7 % of PostgreSQL's CPU in the benchmark, where every transition writes a job row and
 * an event row. A domain's constraints are read once per connection (the type cache).
 *
 * No table rewrite: the columns first take domains without a constraint (text to a domain over text changes no
 * byte), then each domain's constraint is added, which checks the rows in place. The tables are locked (ACCESS
 * EXCLUSIVE) while their columns change, and scanned while the constraints are checked.
 */
export class ValueDomains1765300000000 implements MigrationInterface {
  name = 'ValueDomains1765300000000';

  async up(q: QueryRunner): Promise<void> {
    for (const d of DOMAINS) await q.query(`CREATE DOMAIN upload_pipeline.${d.name} AS text`);
    await q.query(`DROP TRIGGER upload_jobs_notify_ready ON upload_pipeline.upload_jobs`);
    for (const d of DOMAINS) {
      for (const c of d.columns) {
        await q.query(
          `ALTER TABLE upload_pipeline.${c.table} DROP CONSTRAINT ${checkName(c)}, ALTER COLUMN ${c.column} TYPE upload_pipeline.${d.name}`,
        );
      }
    }
    await q.query(NOTIFY_TRIGGER);
    for (const d of DOMAINS) {
      await q.query(
        `ALTER DOMAIN upload_pipeline.${d.name} ADD CONSTRAINT ${d.name}_check CHECK (VALUE IN (${list(d.values)}))`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER upload_jobs_notify_ready ON upload_pipeline.upload_jobs`);
    for (const d of DOMAINS) {
      for (const c of d.columns) {
        await q.query(
          `ALTER TABLE upload_pipeline.${c.table} ALTER COLUMN ${c.column} TYPE text, ` +
            `ADD CONSTRAINT ${checkName(c)} CHECK (${c.column} IN (${list(d.values)}))`,
        );
      }
    }
    await q.query(NOTIFY_TRIGGER);
    for (const d of DOMAINS) await q.query(`DROP DOMAIN upload_pipeline.${d.name}`);
  }
}

