/**
 * A task run every `intervalMs` plus up to 10 % jitter (so workers started together do not all run it at once), the
 * first run one interval after `start()`. Runs never overlap: the next is scheduled when one ends. `stop()` cancels
 * the next run and waits for the one in progress. `run` must not throw (log and return instead).
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<unknown> = Promise.resolve();
  private stoppedFlag = false;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<unknown>,
  ) {}

  /** A run is scheduled. */
  get scheduled(): boolean {
    return this.timer !== null;
  }

  /** stop() was called: a run in progress should end early where it can. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  start(): void {
    if (this.stoppedFlag) return;
    const delay = this.intervalMs + Math.floor(Math.random() * this.intervalMs * 0.1);
    this.timer = setTimeout(() => {
      this.current = this.run().finally(() => this.start());
    }, delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stoppedFlag = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.current;
  }
}
