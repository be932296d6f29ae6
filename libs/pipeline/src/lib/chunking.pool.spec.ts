import { chunkMarkdown } from '@app/chunking';
import { PermanentError, TransientError } from '@app/errors';
import { join } from 'node:path';
import { CHUNK_WORKER_BUNDLE, ChunkingPool, resolveChunkingWorker } from './chunking.pool';
import type { ChunkTask } from './chunking.worker';
import { testPipelineOptions } from './pipeline.test-fixtures';

/**
 * The pool runs real worker threads. From the TypeScript sources (here) a thread runs `chunking.worker.ts` through
 * ts-node, which takes ~50 MB of heap and half a second to start: each pool is warmed up before what is measured,
 * and the memory limits below leave room for it.
 */

/** A markdown document of about `mb` MiB: sections of short paragraphs (~4,800 chunks of 512 tokens a MiB). */
function document(mb: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < mb * 1024 * 1024; i++) {
    const s = `## Section ${i}\n\nParagraph ${i} of the document, with words like tokenization, chunking, embeddings ${i * 7919}.\n\n`;
    parts.push(s);
    size += s.length;
  }
  return parts.join('');
}

const task = (markdown: string, options: Partial<ChunkTask['options']> = {}): ChunkTask => ({
  markdown,
  options: { documentId: '3f1c6f0e-8f43-4a47-9d7c-1d2b3c4d5e6f', chunker: 'md-token', version: 1, maxTokens: 64, ...options },
});

// thread starts through ts-node, and a thread near its heap limit collecting until it gives up, are slow on a busy
// machine: nothing here asserts a duration
jest.setTimeout(60_000);

describe('ChunkingPool', () => {
  const pools: ChunkingPool[] = [];
  async function pool(overrides: Parameters<typeof testPipelineOptions>[2] = {}): Promise<ChunkingPool> {
    const p = new ChunkingPool(testPipelineOptions('pool-test', 30_000, { chunkThreads: 1, ...overrides }));
    pools.push(p);
    await p.warmUp();
    return p;
  }
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.onModuleDestroy()));
  });

  it('resolves the bundled entry next to main.js first, the TypeScript entry only from the sources', () => {
    const fromSources = resolveChunkingWorker();
    expect(fromSources.filename).toBe(join(__dirname, 'chunking.worker.ts'));
    expect(fromSources.execArgv.join(' ')).toContain('ts-node');
    // a bundle without its chunk-worker.js next to it fails at once (never chunks in the event loop's thread)
    expect(() => resolveChunkingWorker('/nonexistent/dist/apps/worker', '/nonexistent/dist/apps/worker/main.js')).toThrow(
      CHUNK_WORKER_BUNDLE,
    );
  });

  it('a document up to chunkInlineMaxBytes is chunked on the calling thread (no thread is started for it)', async () => {
    // a pool whose threads could not even start: only the inline path can answer
    const p = new ChunkingPool(testPipelineOptions('pool-test', 30_000, { chunkInlineMaxBytes: 64 * 1024 }), {
      filename: '/nonexistent/chunk-worker.js',
      execArgv: [],
    });
    pools.push(p);
    const t = task('# Small\n\nA short document.');
    expect(await p.chunk(t)).toEqual(chunkMarkdown(t.markdown, t.options));
    const aborted = new AbortController();
    aborted.abort();
    await expect(p.chunk(t, aborted.signal)).rejects.toMatchObject({ code: 'aborted' });
  });

  it('returns the same chunks as chunking in-thread', async () => {
    const p = await pool();
    const md = `# Title\n\nIntro paragraph.\n\n${document(0.05)}\n\`\`\`ts\nconst x = 1;\n\`\`\`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n`;
    for (const t of [task(md), task(md, { overlapTokens: 8, maxTokens: 48, hardMaxTokens: 8191 }), task('')]) {
      expect(await p.chunk(t)).toEqual(chunkMarkdown(t.markdown, t.options));
    }
    // the chunker's own errors come back as they are
    await expect(p.chunk(task('x', { documentId: '' }))).rejects.toThrow('documentId');
  });

  it('a document over its time budget is too_complex (permanent), and the pool goes on', async () => {
    const p = await pool({ chunkTimeoutMs: 150 });
    const err = await p.chunk(task(document(4), { maxTokens: 512 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ kind: 'permanent', code: 'too_complex' });
    // the thread was terminated; its replacement (started outside any budget here, ts-node being slow to load)
    // chunks a small document within the same budget
    await p.warmUp();
    await expect(p.chunk(task('# small\n\ntext'))).resolves.toHaveLength(1);
  });

  it('a document over its memory budget is too_large (permanent), and the pool goes on', async () => {
    const p = await pool({ chunkMaxMemoryMb: 64 });
    const err = await p.chunk(task(document(6), { maxTokens: 512 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ kind: 'permanent', code: 'too_large' });
    expect((err as PermanentError).cause).toMatchObject({ code: 'ERR_WORKER_OUT_OF_MEMORY' });
    await expect(p.chunk(task('# small\n\ntext'))).resolves.toHaveLength(1);
  });

  it("the caller's abort stops the task: transient `aborted`, not a budget verdict", async () => {
    const p = await pool();
    const ac = new AbortController();
    const running = p.chunk(task(document(4), { maxTokens: 512 }), ac.signal);
    const queued = p.chunk(task('# queued'), ac.signal); // waits for the one thread
    expect(p.stats()).toMatchObject({ threads: 1, running: 1, waiting: 1 });
    setTimeout(() => ac.abort(), 20);
    for (const r of [running, queued]) {
      const err = await r.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ code: 'aborted' });
    }
    expect(p.stats()).toMatchObject({ running: 0, waiting: 0 });
  });

  it('tasks beyond the thread count wait for a thread (their time budget starts with it), and all complete', async () => {
    const p = await pool();
    const md = document(0.5);
    const all = Promise.all([p.chunk(task(md, { maxTokens: 512 })), p.chunk(task(md, { maxTokens: 512 })), p.chunk(task(md, { maxTokens: 512 }))]);
    expect(p.stats()).toMatchObject({ threads: 1, running: 1, waiting: 2 });
    const results = await all;
    expect(results[2]).toEqual(results[0]);
    expect(p.stats()).toMatchObject({ running: 0, waiting: 0 });
  });

  it('keeps the event loop free while a long document is chunked: a main-thread timer keeps firing', async () => {
    const p = await pool();
    const md = document(2);
    const t = task(md, { maxTokens: 512 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const chunks = await p.chunk(t);
      const duringPool = ticks;
      expect(chunks.length).toBeGreaterThan(500);
      // the same work in this thread: the timer cannot fire until it is over
      ticks = 0;
      chunkMarkdown(t.markdown, t.options);
      const duringInThread = ticks;
      expect(duringInThread).toBe(0);
      expect(duringPool).toBeGreaterThanOrEqual(10);
    } finally {
      clearInterval(timer);
    }
  });
});
