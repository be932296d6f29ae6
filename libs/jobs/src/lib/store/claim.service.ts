import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ASYNC_COMMIT, DocumentEntity, entityColumns, EntityColumns, PreparedStatement, runPrepared, UploadJobEntity } from '@app/database';
import { CLAIM_RULES, ClaimRule, JobState, Stage, STAGES, WORK_STAGES } from '@app/state-machine';

/** Who claims, and for how long a claim (and each renewal) holds the lease. */
export interface ClaimOptions {
  workerId: string;
  leaseMs: number;
}

/** Provides the ClaimOptions of the app's worker. */
export const CLAIM_OPTIONS = Symbol('CLAIM_OPTIONS');

export interface ClaimedJob {
  jobId: string;
  documentId: string;
  stage: Stage;
  /** The state the job was claimed from (queued, retryable, waiting, or working with an expired lease). */
  fromState: JobState;
  correlationId: string;
  /** Seconds from when the job became claimable to this claim. */
  pickupSeconds: number;
  /** The job row as the claim left it (webhook_secret included). */
  job: UploadJobEntity;
  /** The job's document, read in the claim statement (null if it is gone). */
  document: DocumentEntity | null;
  /**
   * At `parsing`: the status the parser's last webhook reported for the job's current parse (`parser_job_id`), as
   * sent (e.g. `SUCCESS`); null when none came or it said none. Only webhooks whose signature verified are logged.
   */
  parserReportedStatus: string | null;
}

type Row = Record<string, unknown>;

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The state (and stage) a rule claims from. */
function which(rule: ClaimRule): string {
  return rule.stage ? `(state = ${quote(rule.state)} AND stage = ${quote(rule.stage)})` : `(state = ${quote(rule.state)})`;
}

/** The condition that makes a job in that state claimable (on the column of the rule's partial index). */
function condition(rule: ClaimRule): string | null {
  if (rule.requires === 'due') return `next_attempt_at <= now()`;
  if (rule.requires === 'lease_expired') return `lease_expires_at < now()`;
  return null;
}

const WORK_STAGES_SQL = `stage IN (${WORK_STAGES.map(quote).join(', ')})`;
/**
 * The same condition for the queued jobs' scans (`firsts`, `rest`): as the stages it excludes, which no index can use
 * as a condition, so that their plans read the queued jobs in order from their own partial indexes. (With the list of
 * work stages, `upload_jobs_unfinished_idx` (stage, state) can take both conditions: a generic plan made on a
 * never analyzed table of finished jobs read a user's every queued job that way and sorted them, at every claim.)
 * The same rows: the column's domain holds the stages.
 */
const QUEUED_WORK_STAGES_SQL = `stage NOT IN (${STAGES.filter((s) => !WORK_STAGES.includes(s)).map(quote).join(', ')})`;

/** When a job claimable under `rule` became claimable: for the pickup-latency metric. */
function readyAt(rule: ClaimRule): string {
  if (rule.requires === 'lease_expired') return 'lease_expires_at';
  if (rule.requires === 'due') return 'next_attempt_at';
  return 'updated_at';
}

/** The rule that makes most jobs claimable (`queued`, at once): claimed fairly, round-robin over users. */
const FAIR_RULE: ClaimRule = (() => {
  const rule = CLAIM_RULES.find((r) => r.requires === 'nothing');
  if (!rule || rule.stage) throw new Error('the claim expects one claim rule without a condition and a stage (queued)');
  return rule;
})();
const OTHER_RULES = CLAIM_RULES.filter((r) => r !== FAIR_RULE);
/** The other rules by their condition: rules of one condition are read in one scan of its column's partial index. */
const OTHER_GROUPS = [...new Set(OTHER_RULES.map((r) => r.requires))].map((req) => OTHER_RULES.filter((r) => r.requires === req));

/** The queued jobs' predicate on the partial indexes (`upload_jobs_queued_idx`, `upload_jobs_queued_user_idx`). */
const FAIR_STATE = `state = ${quote(FAIR_RULE.state)}`;

/** Below every uuid: the walk over users starts here before this worker has served anyone. */
const NO_USER = '00000000-0000-0000-0000-000000000000';

/**
 * The claim's candidates: fair ones first, round-robin over the users with queued jobs, then by age. `$4` is the
 * claim's size `n`.
 *
 * - `walk`: up to `n` distinct users with queued jobs, in user_id order starting after `$3` (the last user this
 *   worker served: the statement returns the next one as `next_user`) and wrapping around to the smallest once, never
 *   past `$3` again. From a seed row (`$3`, i = 0, not a user of the walk), each step is one probe of
 *   `upload_jobs_queued_user_idx` (user_id, created_at) WHERE queued for the next user_id above the previous one (a
 *   loose index scan), however many jobs each user has queued.
 * - `firsts`: each walked user's oldest queued job at a work stage (one probe each), SKIP LOCKED: a user whose oldest
 *   is being claimed by another worker gives its next one.
 * - `cand_<i>`: the other rules (due retries and due parse waits in one scan of their partial index, expired leases in
 *   another: few, and by age as before), their oldest `n`, read as the due range of their partial index.
 * - `fair`: the oldest `n` of `firsts` and the other rules' candidates: every walked user's oldest job unless old
 *   retries or expired leases take the room.
 * - `rest`: when fewer than `n` users have queued jobs, the oldest other queued jobs (an ordered scan of
 *   `upload_jobs_queued_idx`, as before), so one user's backlog still fills a claim. Read only as far as the claim
 *   needs it (a CTE is evaluated lazily, and the Append under `c`'s LIMIT reads `rest` only after `fair`).
 *
 * A claim reads O(n) job rows whatever the backlog: n walk probes, n first jobs, the other rules' due ranges and
 * at most 2n of `rest`. One user's backlog of thousands no longer delays another user's job by that backlog: the
 * other user is among the next claim's walk (or within as many claims as there are users with queued work when
 * claims are of one job). Candidates the claim does not take stay locked only until the statement commits.
 *
 * `n` is bound (`$4`), so that claims of every size up to `max` share one prepared statement: its five custom plans
 * and its generic plan are made once a connection, not once a size and connection (with one per size, PostgreSQL
 * planned the claim every fourth or fifth call). A generic plan expects a LIMIT with a bound count to return 10 % of its input
 * (a custom one, exactly `n`): `rest` is also limited by the constant `max`, so the generic plan expects a row or two
 * in `c` whatever the backlog. It then costs no more than a custom plan, so PostgreSQL keeps it, and it joins the
 * claimed rows and their documents by primary key, also when it was made on never analyzed tables and kept while
 * they grew (with `n` in the text, a claim of 2 or more was then planned as a hash join over both whole tables).
 */
const candidateCtes = (max: number) => {
  const queuedAt = (cond: string) => `FROM upload_pipeline.upload_jobs WHERE ${FAIR_STATE}${cond} ORDER BY user_id LIMIT 1`;
  const walk = `walk (user_id, i, wrapped) AS (
        SELECT $3::uuid, 0, false
        UNION ALL
        SELECT s.user_id, w.i + 1, s.wrapped FROM walk w CROSS JOIN LATERAL (
          (SELECT user_id, w.wrapped ${queuedAt(' AND user_id > w.user_id')})
          UNION ALL (SELECT user_id, true ${queuedAt(' AND NOT w.wrapped')})
          LIMIT 1
        ) s
        WHERE w.i < $4::int AND NOT (s.wrapped AND s.user_id > $3::uuid)
      )`;
  const firsts = `firsts AS (
        SELECT f.job_id, f.from_state, f.ready_at, f.created_at, w.i AS walk_i FROM walk w CROSS JOIN LATERAL (
          SELECT job_id, user_id, state AS from_state, ${readyAt(FAIR_RULE)} AS ready_at, created_at
          FROM upload_pipeline.upload_jobs
          WHERE user_id >= w.user_id AND ${QUEUED_WORK_STAGES_SQL} AND ${which(FAIR_RULE)}
          ORDER BY user_id, created_at
          LIMIT 1
          FOR UPDATE SKIP LOCKED
        ) f
        WHERE w.i > 0 AND f.user_id = w.user_id
      )`;
  const others = OTHER_GROUPS.map((rules, i) => {
    const states = rules.length > 1 ? `(${rules.map(which).join(' OR ')})` : which(rules[0]);
    return `cand_${i} AS (
        SELECT job_id, state AS from_state, ${readyAt(rules[0])} AS ready_at, created_at
        FROM upload_pipeline.upload_jobs
        WHERE ${[WORK_STAGES_SQL, condition(rules[0]), states].filter(Boolean).join(' AND ')}
        ORDER BY created_at
        LIMIT $4::int
        FOR UPDATE SKIP LOCKED
      )`;
  });
  const fair = `fair AS (
        SELECT job_id, from_state, ready_at FROM (
          SELECT job_id, from_state, ready_at, created_at FROM firsts${OTHER_GROUPS.map((_, i) => ` UNION ALL SELECT * FROM cand_${i}`).join('')}
        ) candidates
        ORDER BY created_at
        LIMIT $4::int
      )`;
  const rest = `rest AS (
        SELECT job_id, state AS from_state, ${readyAt(FAIR_RULE)} AS ready_at
        FROM upload_pipeline.upload_jobs
        WHERE ${QUEUED_WORK_STAGES_SQL} AND ${which(FAIR_RULE)} AND job_id NOT IN (SELECT job_id FROM firsts)
        ORDER BY created_at
        LIMIT ${max}
        FOR UPDATE SKIP LOCKED
      )`;
  return [walk, firsts, ...others, fair, rest].join(', ');
};

/** The largest claim a statement serves: 16 (WORKER_CLAIM_BATCH's default) or the next power of two above `n`. */
function statementMax(n: number): number {
  let max = 16;
  while (max < n) max *= 2;
  return max;
}

// Claims and lease renewals commit with ASYNC_COMMIT: losing one in a database crash is harmless. The job is
// claimable again (or its lease runs out as if not renewed), and it cannot be lost while anything after it survives:
// every later transition of the job commits synchronously. Claims run one at a time per worker, so the fsync wait
// was what bounded how fast a worker could refill its slots.

/**
 * Claims and leases jobs. One statement, one round trip: pick claimable rows with FOR UPDATE SKIP LOCKED (so two
 * workers never take the same row), queued ones round-robin over users and the rest by age (see candidateCtes), set them
 * `working` with this worker's lease, write one
 * `stage_started` event per job, and return each job row with its document and, at `parsing`, what the parser's
 * webhook reported (no reads after the claim).
 */
@Injectable()
export class ClaimService {
  private readonly statements = new Map<number, PreparedStatement>();
  /**
   * The last user whose turn this worker's claims took: the next claim's walk over users starts after it. A walked
   * user whose first job the claim left out (older retries or expired leases took the room) comes first next time.
   */
  private lastUser = NO_USER;
  private readonly renewSql: PreparedStatement;
  private readonly job: EntityColumns<UploadJobEntity>;
  private readonly document: EntityColumns<DocumentEntity>;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CLAIM_OPTIONS) private readonly opts: ClaimOptions,
  ) {
    this.job = entityColumns(ds, UploadJobEntity, 'upd', 'j_');
    this.document = entityColumns(ds, DocumentEntity, 'd', 'd_');
    // Lost: not renewed, and in the statement's snapshot gone or claimed by another worker since: working under
    // another worker, or (out of `working`) its newest claim event is another worker's (a takeover that has moved
    // the job on already). Not lost: a job whose own runner's last transition (to waiting, done, a retry, a release)
    // committed before the renewal, or while it ran (the snapshot then still shows it working under this worker).
    // A takeover that commits while the renewal runs is reported by the next one; the runner's compare-and-set
    // fences it until then.
    this.renewSql = new PreparedStatement(`
      WITH renewed AS (
        UPDATE upload_pipeline.upload_jobs
        SET lease_expires_at = now() + $3::double precision * interval '1 millisecond'
        WHERE job_id = ANY($1::uuid[]) AND claimed_by = $2 AND state = 'working'
        RETURNING job_id
      )
      SELECT u.id AS job_id,
             u.id NOT IN (SELECT job_id FROM renewed) AND NOT EXISTS (
               SELECT 1 FROM upload_pipeline.upload_jobs j
               WHERE j.job_id = u.id AND CASE WHEN j.state = 'working' THEN j.claimed_by = $2 ELSE (
                 SELECT e.actor FROM upload_pipeline.events e
                 WHERE e.job_id = u.id AND e.event_type = 'stage_started' AND e.to_state = 'working'
                 ORDER BY e.event_id DESC LIMIT 1
               ) IS NOT DISTINCT FROM $2 END
             ) AS lost,
             ${ASYNC_COMMIT}
      FROM unnest($1::uuid[]) AS u(id)`);
  }

  /**
   * The claim statement for `n` jobs (its parameters: the worker id, the lease in ms, the user after whom the walk
   * over users starts, `n`); one prepared statement for all claims of up to 16 jobs.
   */
  private statement(n: number): PreparedStatement {
    const max = statementMax(n);
    let sql = this.statements.get(max);
    if (!sql) {
      sql = new PreparedStatement(`
      WITH RECURSIVE ${candidateCtes(max)}, c AS (
        (SELECT * FROM fair) UNION ALL (SELECT * FROM rest) LIMIT $4::int
      ), upd AS (
        UPDATE upload_pipeline.upload_jobs j
        SET state = 'working', claimed_by = $1, lease_expires_at = now() + $2::double precision * interval '1 millisecond',
            updated_at = now()
        FROM c WHERE j.job_id = c.job_id
        RETURNING j.*, c.from_state, c.ready_at
      ), ev AS (
        INSERT INTO upload_pipeline.events (job_id, document_id, event_type, stage, from_stage, from_state, to_state, correlation_id, actor)
        SELECT job_id, document_id, 'stage_started', stage, stage, from_state, 'working', correlation_id, $1 FROM upd
      )
      SELECT upd.from_state, (
               -- where the next claim's walk starts: after the last walked user before the first one whose first job
               -- this claim left out (a walked user with no claimable job counts as served; none walked: $3)
               SELECT w.user_id FROM walk w
               WHERE w.i < coalesce((SELECT min(f.walk_i) FROM firsts f WHERE f.job_id NOT IN (SELECT job_id FROM c)), $4::int + 1)
               ORDER BY w.i DESC LIMIT 1
             ) AS next_user,
             greatest(0, extract(epoch FROM clock_timestamp() - upd.ready_at))::float8 AS pickup_s,
             CASE WHEN upd.stage = 'parsing' THEN (
               SELECT w.status FROM upload_pipeline.webhook_log w
               WHERE w.job_id = upd.job_id AND w.parser_job_id = upd.parser_job_id AND w.status IS NOT NULL
               ORDER BY w.id DESC LIMIT 1
             ) END AS parser_reported_status,
             ${this.job.select}, ${this.document.select}, ${ASYNC_COMMIT}
      FROM upd LEFT JOIN upload_pipeline.documents d ON d.document_id = upd.document_id`);
      this.statements.set(max, sql);
    }
    return sql;
  }

  async claim(limit: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    if (!Number.isSafeInteger(limit)) throw new Error(`claim limit must be an integer, got ${limit}`);
    const rows = await runPrepared<Row>(this.ds, this.statement(limit), [this.opts.workerId, this.opts.leaseMs, this.lastUser, limit]);
    // the users this claim served (or passed: walked, with no job it could take) had their turn
    const next = rows[0]?.['next_user'];
    if (typeof next === 'string') this.lastUser = next;
    return rows.map((r) => {
      const job = this.job.hydrate(r);
      return {
        pickupSeconds: (r['pickup_s'] as number | null) ?? 0,
        jobId: job.jobId,
        documentId: job.documentId,
        stage: job.stage,
        fromState: r['from_state'] as JobState,
        correlationId: job.correlationId,
        job,
        document: r['d_document_id'] == null ? null : this.document.hydrate(r),
        parserReportedStatus: (r['parser_reported_status'] as string | null) ?? null,
      };
    });
  }

  /**
   * Extends the leases of jobs in hand; returns the ids whose lease this worker lost: the job is gone, or another
   * worker claimed it since. Not the ones this worker's own runner moved out of `working` (its last transition may
   * race with the renewal).
   */
  async renew(jobIds: string[]): Promise<string[]> {
    if (!jobIds.length) return [];
    const rows = await runPrepared<{ job_id: string; lost: boolean }>(this.ds, this.renewSql, [jobIds, this.opts.workerId, this.opts.leaseMs]);
    return rows.filter((r) => r.lost).map((r) => r.job_id);
  }
}
