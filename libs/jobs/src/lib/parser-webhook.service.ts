import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ASYNC_COMMIT, prepared, runPrepared } from '@app/database';
import { JobTransitionsService } from './store/job-transitions.service';

export type WebhookOutcome =
  | { status: 'unauthorized' }
  | { status: 'duplicate' }
  | { status: 'accepted'; woke: boolean }
  | { status: 'ignored'; reason: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `sha256=<hex HMAC-SHA256(secret, rawBody)>`, the X-Webhook-Signature header value. */
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

/**
 * The parser's completion webhook. Verifies the HMAC of the raw body with the job's own secret, logs it once in
 * webhook_log (a replay of the same body is recognised and answered idempotently), then wakes the job waiting at
 * `parsing`. A webhook that arrives before the job reached `parsing`/`waiting` is only logged; the worker looks
 * for it after its transition.
 *
 * Two statements, each its own transaction, in this order: the log row commits before the wake-up is tried. That
 * order is what keeps a wake-up from falling between the two sides. The worker's transition to parsing/waiting
 * either commits before the wake-up's statement reads the row (the wake-up then finds the job waiting), or after
 * it; then it commits after the log row, and the worker's look for an early webhook, which runs after its
 * transition, finds the row. The log row's commit does not wait for its WAL flush: any later synchronous commit
 * flushes it too, the wake-up's or the worker's own move to parsing/waiting. A database crash before either loses
 * that move as well, and the job, back at parse_queued once its lease runs out, submits its parse again. A replay
 * also tries the wake-up (compare-and-set, a no-op once the job moved on), so a crash between the two statements
 * is mended by the parser's next delivery.
 */
@Injectable()
export class ParserWebhookService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly transitions: JobTransitionsService,
  ) {}

  async handle(jobId: string, rawBody: Buffer, signature: string | undefined, requestId: string): Promise<WebhookOutcome> {
    if (!UUID.test(jobId)) return { status: 'unauthorized' };
    const rows = (await runPrepared(this.ds, prepared(`SELECT webhook_secret, parser_job_id FROM upload_pipeline.upload_jobs WHERE job_id = $1`), [
      jobId,
    ])) as { webhook_secret: string; parser_job_id: string | null }[];
    // An unknown job and a bad signature look the same from outside: nothing to learn by probing.
    if (!rows.length || !verifyWebhookSignature(rows[0].webhook_secret, rawBody, signature)) return { status: 'unauthorized' };

    let payload: { id?: unknown; status?: unknown };
    try {
      payload = JSON.parse(rawBody.toString('utf8')) as { id?: unknown; status?: unknown };
    } catch {
      return { status: 'ignored', reason: 'body is not JSON' };
    }
    if (typeof payload !== 'object' || payload === null) return { status: 'ignored', reason: 'body is not an object' };
    const parserJobId = typeof payload.id === 'string' ? payload.id.slice(0, 200) : null;
    const status = typeof payload.status === 'string' ? payload.status.slice(0, 50) : null;
    const bodySha = createHash('sha256').update(rawBody).digest('hex');

    // A job deleted since the read above logs nothing: answered as a duplicate (the parser need not call again).
    // KEY SHARE keeps a deletion from racing the foreign key check without blocking the worker's updates of the row.
    const inserted = (await runPrepared(
      this.ds,
      prepared(`WITH job AS (SELECT job_id FROM upload_pipeline.upload_jobs WHERE job_id = $1 FOR KEY SHARE)
         INSERT INTO upload_pipeline.webhook_log (job_id, source, body_sha256, parser_job_id, status)
         SELECT job_id, 'llamaparse', $2, $3, $4 FROM job
         ON CONFLICT ON CONSTRAINT webhook_log_replay_key DO NOTHING
         RETURNING id, ${ASYNC_COMMIT}`),
      [jobId, bodySha, parserJobId, status],
    )) as unknown[];
    // a webhook for a parse this job no longer waits for (a duplicate submission) changes nothing
    if (rows[0].parser_job_id && parserJobId && rows[0].parser_job_id !== parserJobId) {
      return inserted.length ? { status: 'ignored', reason: 'not the parse this job waits for' } : { status: 'duplicate' };
    }
    const t = await this.transitions.apply(
      jobId,
      { stage: 'parsing', state: 'waiting' },
      { type: 'parser_finished' },
      { actor: 'webhook', detail: { parser_status: status, request_id: requestId } },
    );
    return inserted.length ? { status: 'accepted', woke: t !== null } : { status: 'duplicate' };
  }
}
