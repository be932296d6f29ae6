import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ClusterMetricsAggregator, createAppLogger, wantsPrettyLogs } from '@app/observability';
import type { ApiConfig } from '../app.config';
import { RestartPolicy } from './restart-policy';

/** The log line written once every process listens (tools/bench/lib/stack.mjs waits for it). */
export const allListeningMessage = (processes: number, host: string, port: number): string =>
  `all ${processes} api processes listening on ${host}:${port}`;

/**
 * `API_PROCESSES` > 1: this process is a node:cluster primary. It serves nothing itself: it forks the processes (each
 * runs main.js as a worker: the whole app on API_HOST:API_PORT, connections handed out round-robin by this process),
 * replaces one that exits unexpectedly (see RestartPolicy; it gives up and exits 1 when they keep failing at start),
 * answers their `GET /metrics` with the sum over all of them (ClusterMetricsAggregator), and on SIGTERM or SIGINT
 * passes the signal on and exits once they all have (0, or 1 when one of them failed to close).
 */
export function runClusterPrimary(config: ApiConfig, exit: (code: number) => void = (c) => process.exit(c)): void {
  const n = config.API_PROCESSES;
  const log: Logger = createAppLogger({
    app: 'api',
    level: config.LOG_LEVEL,
    pretty: wantsPrettyLogs(config.LOG_FORMAT, { isTTY: Boolean(process.stdout.isTTY), nodeEnv: config.NODE_ENV }),
  }).child({ context: 'Cluster' });
  const policy = new RestartPolicy();
  const metrics = new ClusterMetricsAggregator();
  const alive = new Map<number, Worker>();
  const listening = new Set<number>();
  const restarts = new Set<NodeJS.Timeout>();
  let allListened = false;
  let stopping = false;
  let exitCode = 0;

  const fork = (): void => {
    const w = cluster.fork();
    alive.set(w.id, w);
    log.debug({ worker_pid: w.process.pid }, `api process ${w.process.pid} forked`);
  };

  const stop = (signal: NodeJS.Signals, code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const t of restarts) clearTimeout(t);
    restarts.clear();
    log.info(`${signal}: stopping ${alive.size} api process(es)`);
    for (const w of alive.values()) w.process.kill(signal);
    if (alive.size === 0) exit(exitCode);
  };

  cluster.on('message', (w, message) => metrics.handle(w, message));

  cluster.on('listening', (w) => {
    if (stopping) return;
    listening.add(w.id);
    metrics.add(w);
    policy.listening();
    if (allListened) log.info({ worker_pid: w.process.pid }, `api process ${w.process.pid} listening (a replacement)`);
    else if (listening.size === n) {
      allListened = true;
      log.info(allListeningMessage(n, config.API_HOST, config.API_PORT));
    }
  });

  cluster.on('exit', (w, code, signal) => {
    const wasListening = listening.delete(w.id);
    alive.delete(w.id);
    metrics.remove(w);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      if (code !== 0 && code !== null) {
        log.error({ worker_pid: w.process.pid, code }, `api process ${w.process.pid} exited with ${how} while stopping`);
        exitCode = 1;
      }
      if (alive.size === 0) {
        log.info('every api process has exited');
        exit(exitCode);
      }
      return;
    }
    const delay = policy.exited(wasListening);
    if (delay === null) {
      log.fatal(
        { worker_pid: w.process.pid, code, signal },
        `api process ${w.process.pid} exited with ${how} before listening, ${policy.failedStartsInARow} failed starts in a row: giving up`,
      );
      stop('SIGTERM', 1);
      return;
    }
    log.error(
      { worker_pid: w.process.pid, code, signal },
      `api process ${w.process.pid} exited with ${how}${wasListening ? '' : ' before listening'}; a new one in ${delay} ms`,
    );
    const t = setTimeout(() => {
      restarts.delete(t);
      fork();
    }, delay);
    restarts.add(t);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(signal, 0));

  log.info(`starting ${n} api processes (API_PROCESSES)`);
  for (let i = 0; i < n; i++) fork();
}
