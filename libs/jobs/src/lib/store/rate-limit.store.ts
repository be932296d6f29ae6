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

/**
 * One hit: a fixed window per key, counted in one statement so that every api process shares it. A key over `limit`
 * in its window is refused for `blockMs` from that hit; its hits go on counting meanwhile. Committed without waiting
 * for the WAL (and the table is UNLOGGED): a counter lost in a crash only forgives part of a window.
 */
const HIT = prepared(`
  WITH hit AS (
    INSERT INTO upload_pipeline.rate_limits AS r (key, hits, window_ends_at, blocked_until)
    VALUES ($1, 1, clock_timestamp() + $2::double precision * interval '1 millisecond',
            CASE WHEN 1 > $3::int THEN clock_timestamp() + $4::double precision * interval '1 millisecond' END)
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN r.window_ends_at <= clock_timestamp() THEN 1 ELSE r.hits + 1 END,
      window_ends_at = CASE WHEN r.window_ends_at <= clock_timestamp()
                            THEN clock_timestamp() + $2::double precision * interval '1 millisecond' ELSE r.window_ends_at END,
      blocked_until = CASE
        WHEN r.blocked_until > clock_timestamp() THEN r.blocked_until
        WHEN (CASE WHEN r.window_ends_at <= clock_timestamp() THEN 1 ELSE r.hits + 1 END) > $3::int
          THEN clock_timestamp() + $4::double precision * interval '1 millisecond'
      END
    RETURNING hits, window_ends_at, blocked_until
  )
  SELECT hits,
         greatest(1, ceil(extract(epoch FROM window_ends_at - clock_timestamp())))::int AS ttl_s,
         coalesce(blocked_until > clock_timestamp(), false) AS blocked,
         CASE WHEN blocked_until > clock_timestamp() THEN greatest(1, ceil(extract(epoch FROM blocked_until - clock_timestamp())))::int ELSE 0 END AS block_s,
         ${ASYNC_COMMIT}
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
    const [r] = await runPrepared<{ hits: number; ttl_s: number; blocked: boolean; block_s: number }>(this.ds, HIT, [key, windowMs, limit, blockMs]);
    return { totalHits: r.hits, timeToExpire: r.ttl_s, isBlocked: r.blocked, timeToBlockExpire: r.block_s };
  }

  /** Deletes counters idle for `idleMs` (a window and a block long over); returns how many went. */
  async prune(idleMs: number): Promise<number> {
    const r = (await this.ds.query(PRUNE.text, [idleMs])) as unknown;
    return Array.isArray(r) && typeof r[1] === 'number' ? r[1] : 0;
  }
}
