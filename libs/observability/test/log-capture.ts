import type { DestinationStream } from 'pino';

/** A pino destination that keeps every line, parsed, in memory. */
export class LogCapture implements DestinationStream {
  readonly raw: string[] = [];

  write(line: string): void {
    this.raw.push(line);
  }

  get text(): string {
    return this.raw.join('');
  }

  get entries(): Record<string, unknown>[] {
    return this.raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  find(pred: (e: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.entries.find(pred);
  }

  /** Waits (bounded) for a line matching `pred`: response-completed lines are written on `finish`. */
  async waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no log line matched within ${timeoutMs} ms; got:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  clear(): void {
    this.raw.length = 0;
  }
}
