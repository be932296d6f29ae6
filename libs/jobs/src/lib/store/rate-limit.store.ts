import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ASYNC_COMMIT, prepared, runPrepared } from '@app/database';

/** A key's counter after one hit (the shape of @nestjs/throttler's ThrottlerStorageRecord, times in seconds). */
export interface RateLimitHit {
  totalHits: number;
  /** Seconds until the window ends (at least 1 while it runs). */
  timeToExpire: number;
  isBlocked: boolean;
  /** Seconds until the key is let in again (0 when not blocked). */
  timeToBlockExpire: number;
}

/** One hit of a key: `limit` hits a window of `windowMs`; over it the key is refused for `blockMs`. */
export interface RateLimitRequest {
  key: string;
  windowMs: number;
  limit: number;
  blockMs: number;
}

/**
 * The upsert of one hit (the placeholders of key, window ms, limit and block ms given): a fixed window per key. A key
 * over `limit` in its window is refused for `blockMs` from that hit; its hits go on counting meanwhile. It returns
 * `hits, window_ends_at, blocked_until, blocked`; `blocked` is decided once, here, for the whole statement.
 */
export function rateLimitHitSql(key: string, windowMs: string, limit: string, blockMs: string): string {
  return `
    INSERT INTO upload_pipeline.rate_limits AS r (key, hits, window_ends_at, blocked_until)
    VALUES (${key}, 1, clock_timestamp() + ${windowMs}::double precision * interval '1 millisecond',
            CASE WHEN 1 > ${limit}::int THEN clock_timestamp() + ${blockMs}::double precision * interval '1 millisecond' END)
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN r.window_ends_at <= clock_timestamp() THEN 1 ELSE r.hits + 1 END,
      window_ends_at = CASE WHEN r.window_ends_at <= clock_timestamp()
                            THEN clock_timestamp() + ${windowMs}::double precision * interval '1 millisecond' ELSE r.window_ends_at END,
      blocked_until = CASE
        WHEN r.blocked_until > clock_timestamp() THEN r.blocked_until
        WHEN (CASE WHEN r.window_ends_at <= clock_timestamp() THEN 1 ELSE r.hits + 1 END) > ${limit}::int
          THEN clock_timestamp() + ${blockMs}::double precision * interval '1 millisecond'
      END
    RETURNING hits, window_ends_at, blocked_until, coalesce(blocked_until > clock_timestamp(), false) AS blocked`;
}

/** The hit's answer from the CTE `alias` of `rateLimitHitSql`, as the columns `rl_hits, rl_ttl_s, rl_blocked, rl_block_s`. */
export function rateLimitHitColumns(alias: string): string {
  return `${alias}.hits AS rl_hits,
         greatest(1, ceil(extract(epoch FROM ${alias}.window_ends_at - clock_timestamp())))::int AS rl_ttl_s,
         ${alias}.blocked AS rl_blocked,
         CASE WHEN ${alias}.blocked THEN greatest(1, ceil(extract(epoch FROM ${alias}.blocked_until - clock_timestamp())))::int ELSE 0 END AS rl_block_s`;
}

/** The hit from a row holding `rateLimitHitColumns`. */
export function rateLimitHitOf(row: Record<string, unknown>): RateLimitHit {
  return {
    totalHits: Number(row['rl_hits']),
    timeToExpire: Number(row['rl_ttl_s']),
    isBlocked: row['rl_blocked'] === true,
    timeToBlockExpire: Number(row['rl_block_s']),
  };
}

/**
 * One hit, counted in one statement so that every api process shares it. Committed without waiting for the WAL (and
 * the table is UNLOGGED): a counter lost in a crash only forgives part of a window.
 */
const HIT = prepared(`
  WITH hit AS (${rateLimitHitSql('$1', '$2', '$3', '$4')})
  SELECT ${rateLimitHitColumns('hit')}, ${ASYNC_COMMIT}
  FROM hit`);

/** Keys whose window and block both ended this long ago go (a run deletes at most 1,000). */
const PRUNE = prepared(`
  DELETE FROM upload_pipeline.rate_limits WHERE key IN (
    SELECT key FROM upload_pipeline.rate_limits
    WHERE window_ends_at < now() - $1::double precision * interval '1 millisecond'
      AND (blocked_until IS NULL OR blocked_until < now() - $1::double precision * interval '1 millisecond')
    LIMIT 1000)`);

/** Rate-limit counters kept in PostgreSQL, so that several api processes enforce one limit. */
@Injectable()
export class RateLimitStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async hit(key: string, windowMs: number, limit: number, blockMs: number): Promise<RateLimitHit> {
    const [r] = await runPrepared(this.ds, HIT, [key, windowMs, limit, blockMs]);
    return rateLimitHitOf(r);
  }

  /** Deletes counters idle for `idleMs` (a window and a block long over); returns how many went. */
  async prune(idleMs: number): Promise<number> {
    const r = (await this.ds.query(PRUNE.text, [idleMs])) as unknown;
    return Array.isArray(r) && typeof r[1] === 'number' ? r[1] : 0;
  }
}
