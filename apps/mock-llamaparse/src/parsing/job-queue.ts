/** A unit of work for {@link JobQueue}: `run` when a slot frees up, or `cancel` if the queue closes first. */
export interface QueueTask {
  run(): Promise<void>;
  cancel(): void;
}

/** In-process FIFO with bounded concurrency and a bounded backlog. */
export class JobQueue {
  private readonly backlog: QueueTask[] = [];
  private active = 0;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxPending: number,
  ) {
    if (concurrency < 1) throw new RangeError('concurrency must be >= 1');
  }

  /** Open and with room in the backlog. */
  get accepting(): boolean {
    return !this.closed && this.backlog.length < this.maxPending;
  }

  get pending(): number {
    return this.backlog.length;
  }

  get running(): number {
    return this.active;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues `task`; false (task untouched) when closed or the backlog is full. */
  push(task: QueueTask): boolean {
    if (!this.accepting) return false;
    this.backlog.push(task);
    this.pump();
    return true;
  }

  /**
   * Stops accepting, cancels every task not yet started, and resolves once the running ones finish
   * or `graceMs` passes, whichever comes first.
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    for (const task of this.backlog.splice(0)) task.cancel();
    if (this.active === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  private pump(): void {
    while (!this.closed && this.active < this.concurrency && this.backlog.length > 0) {
      const task = this.backlog.shift() as QueueTask;
      this.active++;
      void task
        .run()
        .catch(() => undefined)
        .finally(() => {
          this.active--;
          if (this.active === 0) for (const resolve of this.idle.splice(0)) resolve();
          this.pump();
        });
    }
  }
}
