export interface RestartPolicyOptions {
  /** Processes in a row that exit before listening (none listening in between) after which the primary gives up. */
  maxFailedStarts: number;
  /** Delay before replacing the first process that exits within `windowMs`; it doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicyOptions> = Object.freeze({
  maxFailedStarts: 5,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  windowMs: 60_000,
});

/**
 * When the cluster primary replaces a process that exited unexpectedly, and when it gives up. A process that exits
 * before it listens failed to start (a port in use, a database that refuses it): after `maxFailedStarts` of those in
 * a row the primary gives up, so that an orchestrator sees the api fail instead of a restart loop. The delay doubles
 * with each exit within `windowMs`, whatever their cause.
 */
export class RestartPolicy {
  private failedStarts = 0;
  private exits: number[] = [];

  constructor(
    private readonly o: Readonly<RestartPolicyOptions> = DEFAULT_RESTART_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  /** Failed starts in a row so far. */
  get failedStartsInARow(): number {
    return this.failedStarts;
  }

  /** A process listens: the run of failed starts ends. */
  listening(): void {
    this.failedStarts = 0;
  }

  /**
   * A process exited unexpectedly (`wasListening`: after it had listened). Returns the delay before its replacement
   * is forked, in ms, or null: give up.
   */
  exited(wasListening: boolean): number | null {
    if (!wasListening && ++this.failedStarts >= this.o.maxFailedStarts) return null;
    const t = this.now();
    this.exits = [...this.exits.filter((at) => t - at < this.o.windowMs), t];
    return Math.min(this.o.baseDelayMs * 2 ** (this.exits.length - 1), this.o.maxDelayMs);
  }
}
