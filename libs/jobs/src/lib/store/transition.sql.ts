import type { TransitionPlan } from './transition-planner';
import { BindParam, WriteSql } from './stage-writes.sql';

const DOCUMENT_COLUMNS = { parsedPath: 'parsed_path', pageCount: 'page_count', parsedSha256: 'parsed_sha256' } as const;

export interface RenderedTransition {
  text: string;
  params: unknown[];
}

/**
 * The SQL of a planned transition: ONE statement (so one transaction on its own, or part of the caller's) that
 *  - updates the job only if it is still at the plan's guard (and, when `working`, still leased by the worker): a
 *    compare-and-set, so a stale worker or a replayed request changes nothing,
 *  - writes one event row per step with the correlation id, in order,
 *  - keeps documents.processing_status in step (and writes the plan's document columns),
 *  - carries a stage's own write (`write`), conditional on the job's update.
 * It returns the job's row (none when it did not apply); with a report, one row whether or not it applied (job_id
 * null when it did not). The texts form a bounded set (one per shape of options and steps): each is prepared once.
 */
export function renderTransition(plan: TransitionPlan, write?: WriteSql): RenderedTransition {
  const params: unknown[] = [];
  const p: BindParam = (v) => {
    params.push(v);
    return `$${params.length}`;
  };
  const { job } = plan;
  const sets = [
    `stage = ${p(job.stage)}`,
    `state = ${p(job.state)}`,
    `updated_at = now()`,
    job.lease ? `claimed_by = ${p(job.lease.workerId)}` : `claimed_by = NULL`,
    job.lease ? `lease_expires_at = now() + ${p(job.lease.leaseMs)}::double precision * interval '1 millisecond'` : `lease_expires_at = NULL`,
  ];
  if (job.retryCount.op === 'set') sets.push(`retry_count = ${job.retryCount.value}`);
  else if (job.retryCount.op === 'add') sets.push(`retry_count = retry_count + ${job.retryCount.value}`);
  if (job.nextAttemptAt !== undefined) sets.push(job.nextAttemptAt === null ? `next_attempt_at = NULL` : `next_attempt_at = ${p(job.nextAttemptAt)}`);
  if (job.lastError !== undefined) sets.push(`last_error = ${p(job.lastError === null ? null : JSON.stringify(job.lastError))}::jsonb`);
  if (job.progress) sets.push(`progress = progress || ${p(JSON.stringify(job.progress))}::jsonb`);
  if (job.parserJobId !== undefined) sets.push(`parser_job_id = ${p(job.parserJobId)}`);
  if (job.completed) sets.push(`completed_at = now()`);

  const where = [`job_id = ${p(plan.jobId)}`, `stage = ${p(plan.guard.stage)}`, `state = ${p(plan.guard.state)}`];
  if (plan.guard.claimedBy !== undefined) where.push(`claimed_by = ${p(plan.guard.claimedBy)}`);

  const correlation = p(plan.correlationId);
  const actor = p(plan.actor);
  const json = (d: Record<string, unknown> | null) => `${p(d ? JSON.stringify(d) : null)}::jsonb`;
  let eventColumns = 'job_id, document_id, event_type, stage, from_stage, from_state, to_state, correlation_id, actor, detail';
  let eventRows: string;
  if (plan.events.length === 1 && !plan.datedEvents) {
    const [e] = plan.events;
    eventRows = `SELECT job_id, document_id, ${p(e.eventType)}, ${p(e.stage)}, ${p(e.fromStage)}, ${p(e.fromState)}, ${p(e.toState)},
                 COALESCE(${correlation}, correlation_id), ${actor}, ${json(e.detail)}
           FROM upd`;
  } else {
    // one row per step, in order (event_id follows the ORDER BY); dated steps each have their own date
    const dated = plan.datedEvents;
    if (dated) eventColumns += ', created_at';
    const rows = plan.events.map(
      (e, i) =>
        `(${i}, ${p(e.eventType)}, ${p(e.stage)}, ${p(e.fromStage)}, ${p(e.fromState)}, ${p(e.toState)}, ${e.detail || dated ? json(e.detail) : 'NULL::jsonb'}${dated ? `, ${p(e.agoMs ?? 0)}::double precision` : ''})`,
    );
    eventRows = `SELECT upd.job_id, upd.document_id, s.event_type, s.stage, s.from_stage, s.from_state, s.to_state,
                 COALESCE(${correlation}, upd.correlation_id), ${actor}, s.detail${dated ? `, statement_timestamp() - s.ago_ms * interval '1 millisecond'` : ''}
           FROM upd, (VALUES ${rows.join(', ')}) AS s (n, event_type, stage, from_stage, from_state, to_state, detail${dated ? ', ago_ms' : ''})
           ORDER BY s.n`;
  }

  const status = plan.document.processingStatus;
  const docSets = [`processing_status = ${p(status)}`, `updated_at = now()`];
  let docWrites = false;
  for (const [k, col] of Object.entries(DOCUMENT_COLUMNS) as [keyof typeof DOCUMENT_COLUMNS, string][]) {
    const v = plan.document.columns[k];
    if (v === undefined) continue;
    docSets.push(`${col} = ${p(v)}`);
    docWrites = true;
  }
  for (const [col, expr] of Object.entries(write?.documentSets?.(p) ?? {})) {
    docSets.push(`${col} = ${expr}`);
    docWrites = true;
  }
  if (write?.requires) where.push(`(${write.requires})`);
  const before = write?.before ? `${write.before(p)}, ` : '';
  const after = write?.after ? `, ${write.after(p)}` : '';
  // the document's row is written only when its status changes, unless the transition sets columns of it
  const docWhere = docWrites ? '' : ` AND d.processing_status IS DISTINCT FROM ${p(status)}`;
  const result = write?.report
    ? `SELECT upd.job_id, upd.document_id, upd.correlation_id, (${write.report}) AS report FROM (SELECT 1) AS one LEFT JOIN upd ON true`
    : `SELECT job_id, document_id, correlation_id FROM upd`;
  const text = `
      WITH ${before}upd AS (
        UPDATE upload_pipeline.upload_jobs SET ${sets.join(', ')}
        WHERE ${where.join(' AND ')}
        RETURNING job_id, document_id, correlation_id
      )${after}, ev AS (
        INSERT INTO upload_pipeline.events (${eventColumns})
        ${eventRows}
      ), doc AS (
        UPDATE upload_pipeline.documents d SET ${docSets.join(', ')}
        FROM upd WHERE d.document_id = upd.document_id${docWhere}
      )
      ${result}`;
  return { text, params };
}
