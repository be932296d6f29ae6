import { type Chunk, chunkMarkdown, type ChunkOptions } from '@app/chunking';

/**
 * One chunking task, as it crosses to the worker thread (structured clone: plain data only, so no custom
 * `countTokens`; the thread uses the chunker's own cl100k counter).
 */
export interface ChunkTask {
  markdown: string;
  options: Omit<ChunkOptions, 'countTokens'>;
}

/**
 * The entry of the chunking worker threads (piscina). The worker app's webpack build emits it as
 * `dist/apps/worker/chunk-worker.js`, next to `main.js`; from the TypeScript sources (tests) it runs as it is
 * (see `resolveChunkingWorker`). Keep its imports to `@app/chunking`: every thread loads what it imports.
 */
export default function chunkTask(task: ChunkTask): Chunk[] {
  return chunkMarkdown(task.markdown, task.options);
}
