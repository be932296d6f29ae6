import { INestApplication, Logger } from '@nestjs/common';

/**
 * SIGTERM/SIGINT: close the app (stop taking work, drain in-flight requests, run every shutdown hook),
 * then exit 0 (1 if closing failed). Nest's enableShutdownHooks would re-raise the signal after
 * closing, which ends the process by the signal instead of a clean exit code.
 */
export function closeOnSignals(app: INestApplication, exit: (code: number) => void = (c) => process.exit(c)): void {
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      Logger.log(`${signal}: shutting down`, 'Bootstrap');
      app.close().then(
        () => exit(0),
        (e: unknown) => {
          Logger.error(`shutdown failed: ${String(e)}`, 'Bootstrap');
          exit(1);
        },
      );
    });
  }
}
