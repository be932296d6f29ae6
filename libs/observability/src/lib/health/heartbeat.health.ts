import { HealthIndicatorService } from '@nestjs/terminus';
import { IndicatorResult } from './health.types';

export interface HeartbeatHealthOptions {
  /** When the watched loop last showed life; null = never yet. */
  lastBeat: () => Date | null;
  /** Down when the last beat is older than this. */
  maxSilenceMs: number;
  /** Extra detail merged into the result (e.g. the loop's in-flight count); must not contain `status`. */
  detail?: () => Record<string, unknown>;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Down when the heartbeat is missing or older than `maxSilenceMs` (a stuck loop). Detail:
 * `{ last_beat_at: ISO | null, silent_ms: number | null, max_silence_ms, ...detail() }`.
 */
export class HeartbeatHealthIndicator {
  private readonly health = new HealthIndicatorService();

  constructor(private readonly options: HeartbeatHealthOptions) {}

  check(key = 'heartbeat'): IndicatorResult {
    const session = this.health.check(key);
    const beat = this.options.lastBeat();
    const now = (this.options.now ?? Date.now)();
    const silentMs = beat ? Math.max(0, now - beat.getTime()) : null;
    const { status: _ignored, ...extra } = this.options.detail?.() ?? {};
    const detail = {
      ...extra,
      last_beat_at: beat ? beat.toISOString() : null,
      silent_ms: silentMs,
      max_silence_ms: this.options.maxSilenceMs,
    };
    if (silentMs === null) return session.down({ ...detail, message: 'no heartbeat yet' });
    if (silentMs > this.options.maxSilenceMs) {
      return session.down({ ...detail, message: `no heartbeat for ${silentMs} ms (limit ${this.options.maxSilenceMs} ms)` });
    }
    return session.up(detail);
  }
}
