import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ASYNC_COMMIT, prepared, runPrepared } from '@app/database';
import type { JobStatus } from '@app/state-machine';
import { JobTransitionsService } from './store/job-transitions.service';
import type { WriteSql } from './store/stage-writes.sql';
import { renderTransition } from './store/transition.sql';
import { planTransition, TransitionOptions } from './store/transition-planner';

export type WebhookOutcome =
  | { status: 'unauthorized' }
  | { status: 'duplicate' }
  | { status: 'accepted'; woke: boolean }
  | { status: 'unverified'; woke: boolean }
  | { status: 'ignored'; reason: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `sha256=<hex HMAC-SHA256(secret, rawBody)>`: the value of X-Webhook-Signature (v1, the mock) and LC-Signature (v2). */
export function signWebhook(secret: string, rawBody: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export function verifyWebhookSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  const m = SIGNATURE.exec(header?.trim() ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(m[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const WAITING_FOR_PARSE: JobStatus = { stage: 'parsing', state: 'waiting' };

const READ = prepared(`SELECT webhook_secret, parser_job_id, stage, state FROM upload_pipeline.upload_jobs WHERE job_id = $1`);

/** The log row only (the job's wake-up is its own statement, after this one commits). */
const LOG = prepared(`WITH job AS (SELECT job_id FROM upload_pipeline.upload_jobs WHERE job_id = $1 FOR KEY SHARE)
         INSERT INTO upload_pipeline.webhook_log (job_id, source, body_sha256, parser_job_id, status)
         SELECT job_id, 'llamaparse', $2, $3, $4 FROM job
         ON CONFLICT ON CONSTRAINT webhook_log_replay_key DO NOTHING
         RETURNING id, ${ASYNC_COMMIT}`);

/**
 * The log row in the wake-up's own statement, written only when the wake-up applies (from the job's updated row, so a
 * job deleted meanwhile logs nothing and fails no foreign key); the report counts the rows logged (0 for a replay).
 */
function logWithWakeUp(bodySha: string, parserJobId: string | null, status: string | null): WriteSql {
  return {
    after: (p) => `wl AS (
            INSERT INTO upload_pipeline.webhook_log (job_id, source, body_sha256, parser_job_id, status)
            SELECT job_id, 'llamaparse', ${p(bodySha)}, ${p(parserJobId)}, ${p(status)} FROM upd
            ON CONFLICT ON CONSTRAINT webhook_log_replay_key DO NOTHING
            RETURNING id
          )`,
    report: `(SELECT count(*) FROM wl)`,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The parser job id and status a verified body reports: v2's `{event_type, data: {job_id, status}}` or v1's
 * `{id, status}`; the body may be a JSON object or (v2's `string` output format) that object JSON-encoded as a string.
 */
export function webhookReport(rawBody: Buffer): { parserJobId: string | null; status: string | null } | { error: string } {
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody.toString('utf8'));
    if (typeof payload === 'string') payload = JSON.parse(payload);
  } catch {
    return { error: 'body is not JSON' };
  }
  if (!isRecord(payload)) return { error: 'body is not an object' };
  const report = isRecord(payload['data']) ? { id: payload['data']['job_id'], status: payload['data']['status'] } : payload;
  return {
    parserJobId: typeof report['id'] === 'string' ? report['id'].slice(0, 200) : null,
    status: typeof report['status'] === 'string' ? report['status'].slice(0, 50) : null,
  };
}

/**
 * The parser's completion webhook. Verifies the HMAC of the raw body with the job's own secret (LlamaParse v2:
 * `LC-Signature: sha256=<hex>`; the mock's v1: `X-Webhook-Signature: sha256=<hex>`; when an LC-Signature is given it
 * is the one checked), logs it once in
 * webhook_log (a replay of the same body is recognised and answered idempotently), then wakes the job waiting at
 * `parsing`. A webhook that arrives before the job reached `parsing`/`waiting` is only logged; the worker looks
 * for it after its transition.
 *
 * When the job waits at `parsing` as the secret is read, the log row and the wake-up are one statement (both or
 * neither: a job that moved on meanwhile logs nothing there, and takes the path below). Otherwise, two statements, each
 * its own transaction, in this order: the log row commits before the wake-up is tried. That order is what keeps a
 * wake-up from falling between the two sides. The worker's transition to parsing/waiting either commits before the
 * wake-up's statement reads the row (the wake-up then finds the job waiting), or after it; then it commits after the
 * log row, and the worker's look for an early webhook, which runs after its transition, finds the row. The log row's
 * commit does not wait for its WAL flush: any later synchronous commit flushes it too, the wake-up's or the worker's
 * own move to parsing/waiting. A database crash before either loses that move as well, and the job, back at
 * parse_queued once its lease runs out, submits its parse again. A replay also tries the wake-up (compare-and-set, a
 * no-op once the job moved on), so a crash between the two statements is mended by the parser's next delivery.
 */
@Injectable()
export class ParserWebhookService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly transitions: JobTransitionsService,
  ) {}

  /**
   * `signature`: X-Webhook-Signature; `lcSignature`: LC-Signature. Unsigned deliveries (LlamaParse's real v1 signs
   * nothing) are refused, unless `acceptUnsigned`: then a delivery with no signature header at all is a hint only. Its
   * body is never read nor logged (so the worker never takes its word for the outcome): a job waiting at `parsing` is
   * woken, and the worker asks the parser for the job's status. Without the option those jobs learn their outcome by
   * the worker's poll after WEBHOOK_TIMEOUT_MS.
   */
  async handle(
    jobId: string,
    rawBody: Buffer,
    signature: string | undefined,
    requestId: string,
    lcSignature?: string,
    opts: { acceptUnsigned?: boolean } = {},
  ): Promise<WebhookOutcome> {
    if (!UUID.test(jobId)) return { status: 'unauthorized' };
    if (opts.acceptUnsigned && !signature?.trim() && !lcSignature?.trim()) return this.unsignedHint(jobId, requestId);
    const rows = (await runPrepared(this.ds, READ, [jobId])) as { webhook_secret: string; parser_job_id: string | null; stage: string; state: string }[];
    // An unknown job and a bad signature look the same from outside: nothing to learn by probing.
    const given = lcSignature?.trim() ? lcSignature : signature;
    if (!rows.length || !verifyWebhookSignature(rows[0].webhook_secret, rawBody, given)) return { status: 'unauthorized' };
    const job = rows[0];

    const report = webhookReport(rawBody);
    if ('error' in report) return { status: 'ignored', reason: report.error };
    const { parserJobId, status } = report;
    const bodySha = createHash('sha256').update(rawBody).digest('hex');
    // a webhook for a parse this job no longer waits for (a duplicate submission) is logged and changes nothing
    const otherParse = !!job.parser_job_id && !!parserJobId && job.parser_job_id !== parserJobId;
    const wakeUp: TransitionOptions = { actor: 'webhook', detail: { parser_status: status, request_id: requestId } };

    // the job waits for this parse: the log row and the wake-up in one statement
    if (!otherParse && job.stage === WAITING_FOR_PARSE.stage && job.state === WAITING_FOR_PARSE.state) {
      const woken = await this.logAndWake(jobId, bodySha, parserJobId, status, wakeUp);
      if (woken) return woken.logged ? { status: 'accepted', woke: true } : { status: 'duplicate' };
    }

    // A job deleted since the read above logs nothing: answered as a duplicate (the parser need not call again).
    // KEY SHARE keeps a deletion from racing the foreign key check without blocking the worker's updates of the row.
    const inserted = (await runPrepared(this.ds, LOG, [jobId, bodySha, parserJobId, status])) as unknown[];
    if (otherParse) return inserted.length ? { status: 'ignored', reason: 'not the parse this job waits for' } : { status: 'duplicate' };
    const t = await this.transitions.apply(jobId, WAITING_FOR_PARSE, { type: 'parser_finished' }, wakeUp);
    return inserted.length ? { status: 'accepted', woke: t !== null } : { status: 'duplicate' };
  }

  /** The wake-up with the log row in its statement; null when the job was not waiting at `parsing` (nothing written). */
  private async logAndWake(
    jobId: string,
    bodySha: string,
    parserJobId: string | null,
    status: string | null,
    opts: TransitionOptions,
  ): Promise<{ logged: boolean } | null> {
    const plan = planTransition(jobId, WAITING_FOR_PARSE, [{ type: 'parser_finished' }], opts);
    if (!plan) return null;
    const { text, params } = renderTransition(plan, logWithWakeUp(bodySha, parserJobId, status));
    const [row] = await runPrepared<{ job_id: string | null; report: unknown }>(this.ds, prepared(text), params);
    if (!row || row.job_id === null) return null;
    return { logged: Number(row.report) > 0 };
  }

  /**
   * An unsigned delivery, taken as a hint: the job (if it waits for its parse) is woken without any record of the body,
   * so the worker's claim finds no verified status and asks the parser. A compare-and-set: a job not waiting at
   * `parsing` (unknown, or moved on) changes nothing, and the answer does not say which.
   */
  private async unsignedHint(jobId: string, requestId: string): Promise<WebhookOutcome> {
    const t = await this.transitions.apply(jobId, WAITING_FOR_PARSE, { type: 'parser_finished' }, { actor: 'webhook', detail: { unsigned: true, request_id: requestId } });
    return { status: 'unverified', woke: t !== null };
  }
}
