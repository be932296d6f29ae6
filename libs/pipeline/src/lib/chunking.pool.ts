import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Chunk, chunkMarkdown } from '@app/chunking';
import { PermanentError, TransientError } from '@app/errors';
import { Piscina } from 'piscina';
import type { ChunkTask } from './chunking.worker';
import type { PipelineOptions } from './pipeline.options';

/** Markdown up to this size is chunked on the worker's own thread unless the options say otherwise. */
export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;

/** The worker app's build emits the chunking thread's entry under this name, next to `main.js`. */
export const CHUNK_WORKER_BUNDLE = 'chunk-worker.js';

/** What a chunking thread runs, and how it is started. */
export interface ChunkingWorkerEntry {
  filename: string;
  execArgv: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Where the chunking thread's code is. In the bundle (`dist/apps/worker/main.js`), `__dirname` is the bundle's
 * directory and the build emits `chunk-worker.js` there. Running from the TypeScript sources (Jest through SWC,
 * never production) there is no bundle: the thread runs `chunking.worker.ts` through ts-node (transpile only) with
 * the workspace's path aliases. Anything else is a broken build and fails at start, never silently in-thread.
 */
export function resolveChunkingWorker(dir: string = __dirname, self: string = __filename): ChunkingWorkerEntry {
  const bundled = join(dir, CHUNK_WORKER_BUNDLE);
  if (existsSync(bundled)) return { filename: bundled, execArgv: [] };
  const source = join(dir, 'chunking.worker.ts');
  if (self.endsWith('.ts') && existsSync(source)) {
    let root = dir;
    while (!existsSync(join(root, 'tsconfig.base.json'))) {
      const up = dirname(root);
      if (up === root) throw new Error(`chunking worker: no tsconfig.base.json above ${dir}`);
      root = up;
    }
    const preload = ['ts-node/register/transpile-only.js', 'tsconfig-paths/register.js'].map((m) => join(root, 'node_modules', m));
    return {
      filename: source,
      execArgv: preload.flatMap((p) => ['--require', p]),
      // not configuration: the sources' thread gets this process's environment plus where the path aliases are
      // eslint-disable-next-line no-restricted-properties
      env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.base.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
    };
  }
  throw new Error(`chunking worker: ${bundled} is missing (the worker build emits it next to main.js)`);
}

/** Defaults of the pool's size: all but one core (the main thread's), at most one a concurrent job. */
export function defaultChunkThreads(concurrency: number): number {
  return Math.max(1, Math.min(concurrency, availableParallelism() - 1));
}

/**
 * Chunking (tokenizing + packing: CPU-bound, up to seconds for a large document) runs in worker threads, so the
 * worker's event loop (lease renewals, LISTEN, health, metrics) never stalls on it. Each document has a budget:
 * `chunkTimeoutMs` of running time (the thread is terminated past it: `too_complex`) and `chunkMaxMemoryMb` of old
 * generation heap (the thread dies with ERR_WORKER_OUT_OF_MEMORY: `too_large`); both are permanent, so the job is
 * dead-lettered instead of retried for ever. A terminated thread is replaced by piscina.
 *
 * At most `threads` tasks are handed to piscina at once (the others wait here, uncharged): the time budget starts
 * when the task gets a thread, not while it queues behind other documents. Provided by PipelineModule through a
 * factory (`new ChunkingPool(options)`); tests may pass their own entry.
 */
export class ChunkingPool implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly pool: Piscina<ChunkTask, Chunk[]>;
  private readonly threads: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: PipelineOptions, entry: ChunkingWorkerEntry = resolveChunkingWorker()) {
    this.threads = opts.chunkThreads ?? defaultChunkThreads(opts.concurrency);
    this.pool = new Piscina<ChunkTask, Chunk[]>({
      filename: entry.filename,
      execArgv: entry.execArgv,
      ...(entry.env ? { env: entry.env } : {}),
      // no thread kept while no large document comes (a thread's heap stays in the worker's RSS): one starts with a
      // document over chunkInlineMaxBytes (~0.2 s) and ends 10 s after the last one
      minThreads: 0,
      maxThreads: this.threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 10_000,
      resourceLimits: { maxOldGenerationSizeMb: opts.chunkMaxMemoryMb },
    });
  }

  /**
   * Starts a thread and loads the chunker (and its token table) in it, outside any document's budget (at start when
   * every document goes to the threads, so the first does not pay for it; and in tests).
   */
  async warmUp(): Promise<void> {
    await this.pool.run({ markdown: '# warm-up', options: { documentId: 'warm-up' } });
  }

  async onApplicationBootstrap(): Promise<void> {
    // No thread is started here: most documents are chunked inline, and a thread started now would leave its heap in
    // the worker's RSS. A missing thread bundle already failed the constructor (resolveChunkingWorker).
    if (this.opts.chunkInlineMaxBytes === 0) await this.warmUp();
    new Logger('ChunkingPool').log(
      `chunking in worker threads: up to ${this.threads}, ${this.opts.chunkMaxMemoryMb} MB heap and ${this.opts.chunkTimeoutMs} ms a document`,
    );
  }

  /** Pool size and what it is doing now. */
  stats(): { threads: number; running: number; waiting: number } {
    return { threads: this.threads, running: this.running, waiting: this.waiting.length };
  }

  /**
   * Chunks `task.markdown` in a worker thread. Rejects with PermanentError `too_complex` (over the time budget) or
   * `too_large` (over the memory budget), or TransientError `aborted` when `signal` aborts (shutdown, lost lease).
   */
  async chunk(task: ChunkTask, signal?: AbortSignal): Promise<Chunk[]> {
    // a small document on this thread: milliseconds (the chunker is O(n log n)), no thread start, no copies
    if (Buffer.byteLength(task.markdown, 'utf8') <= (this.opts.chunkInlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES)) {
      if (signal?.aborted) throw new TransientError('chunking aborted', { code: 'aborted', cause: signal.reason });
      return chunkMarkdown(task.markdown, task.options);
    }
    await this.acquire(signal);
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(new Error('chunking time budget spent')), this.opts.chunkTimeoutMs);
    const stop = () => budget.abort(signal?.reason);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await this.pool.run(task, { signal: budget.signal });
    } catch (e) {
      if (signal?.aborted) throw new TransientError('chunking aborted', { code: 'aborted', cause: e });
      if (budget.signal.aborted)
        throw new PermanentError(`the document is too complex to chunk within ${this.opts.chunkTimeoutMs} ms`, {
          code: 'too_complex',
          cause: e,
        });
      if ((e as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY')
        throw new PermanentError(`the document is too large to chunk within ${this.opts.chunkMaxMemoryMb} MB`, {
          code: 'too_large',
          cause: e,
        });
      throw e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new TransientError('chunking aborted', { code: 'aborted', cause: signal.reason }));
    if (this.running < this.threads) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', cancel);
        this.running++;
        resolve();
      };
      const cancel = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new TransientError('chunking aborted', { code: 'aborted', cause: signal?.reason }));
      };
      this.waiting.push(take);
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.destroy();
  }
}
