import { Inject, Injectable } from '@nestjs/common';
import type { Chunk } from '@app/chunking';
import { PermanentError } from '@app/errors';
import { EMBEDDER, Embedder } from '@app/embedder-client';
import { ChunkRow, JobStore, StageWriteReport } from '@app/jobs';
import { STORAGE, StorageDriver } from '@app/storage';
import { ChunkingPool } from '../chunking.pool';
import type { AdvanceResult, BufferedChunk, JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';
import { writePendingChunks } from './pending-chunks';

const ROWS_PER_INSERT = 500;

/**
 * chunking: markdown-aware, token-bounded chunks (never over the embedder's input limit) with deterministic UUIDv5 ids,
 * cut in a worker thread (ChunkingPool: off the event loop, within the document's time and memory budget).
 *
 * A document of one slice of rows (most) is not written here: its chunks go to embedding and finalize in the claim's
 * scratch (`pendingChunks`), and this stage's transition waits for finalize's statement, which stores chunks, vectors
 * and every transition at once (decisions #31). Whatever commits the transition otherwise writes the chunks into the
 * buffer first (`writeHandedOver`). Not when this claim took the job over from an expired lease: an earlier attempt may
 * have buffered chunks and vectors that embedding must find (no batch embedded twice).
 *
 * Otherwise the rows are buffered with ON CONFLICT DO NOTHING so a re-run writes nothing twice, the last slice in the
 * transition's own statement; when that statement wrote them all into an empty buffer, the chunks are handed to
 * embedding in the claim's scratch.
 */
@Injectable()
export class ChunkHandler implements StageHandler {
  readonly stages = ['chunking'] as const;
  /** Only when it handed its chunks over (no write): a re-run after a crash chunks the parsed text again. */
  readonly commitsWithNext = true;

  constructor(
    private readonly store: JobStore,
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
    private readonly pool: ChunkingPool,
  ) {}

  async run({ job, workerId, document, scratch, signal }: JobContext): Promise<StageResult> {
    if (!document.parsedPath) throw new PermanentError('document has no parsed text', { code: 'no_parsed_text' });
    const md = scratch.markdown ?? (await this.storage.getObjectBuffer(document.parsedPath, this.opts.maxDocumentBytes * 4)).toString('utf8');
    scratch.markdown = undefined; // not needed past here: let it go
    // in a worker thread, within the document's time and memory budget (PermanentError too_complex / too_large)
    const chunks = await this.pool.chunk(
      {
        markdown: md,
        options: {
          documentId: document.documentId,
          chunker: this.opts.chunker.name,
          version: this.opts.chunker.version,
          maxTokens: this.opts.chunker.maxTokens,
          overlapTokens: this.opts.chunker.overlapTokens,
          hardMaxTokens: this.embedder.maxInputTokens,
        },
      },
      signal,
    );
    if (!chunks.length) throw new PermanentError('no chunks could be made from the parsed text', { code: 'empty_document' });

    // Every slice but the last in statements of their own; the last (for most documents, the only one) with the
    // transition, written only when it applies. A re-run after a crash between the earlier slices and the transition
    // writes none of them twice.
    const rows = chunks.map((c) => chunkRow(c, document.pageCount));
    const tokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
    const progress = { chunks_total: chunks.length, chunks_embedded: 0, tokens_total: tokens };
    const detail = { chunks: chunks.length, tokens };
    if (rows.length <= ROWS_PER_INSERT && !scratch.takenOver) {
      scratch.pendingChunks = rows;
      scratch.chunks = rows.map(bufferedChunk);
      return { type: 'advance', progress, detail };
    }
    const last = Math.floor((rows.length - 1) / ROWS_PER_INSERT) * ROWS_PER_INSERT;
    const owner = { jobId: job.jobId, workerId };
    for (let i = 0; i < last; i += ROWS_PER_INSERT) await this.store.bufferChunks(owner, document.documentId, rows.slice(i, i + ROWS_PER_INSERT));
    scratch.chunks = undefined;
    return {
      type: 'advance',
      progress,
      detail,
      write: { kind: 'buffer_chunks', documentId: document.documentId, rows: rows.slice(last), complete: last === 0 },
    };
  }

  committed({ scratch }: JobContext, result: AdvanceResult, report: StageWriteReport): void {
    // every chunk went in with the transition, into an empty buffer: the buffer is these chunks, none with a vector
    const write = result.write;
    if (write?.kind === 'buffer_chunks' && report.kind === 'buffer_chunks' && write.complete && report.bufferedBefore === 0) {
      scratch.chunks = write.rows.map(bufferedChunk);
    }
  }

  /** The chunks handed over, into the buffer, when something other than finalize's statement is to commit this stage. */
  writeHandedOver(ctx: JobContext): Promise<void> {
    return writePendingChunks(this.store, ctx);
  }
}

function bufferedChunk(c: ChunkRow): BufferedChunk {
  return { id: c.chunkId, text: c.text, tokens: c.tokenCount };
}

/**
 * A chunk as a buffer row. `meta`: `heading_path`, and `page_start` / `page_end` (1-based) when the parsed markdown
 * has page markers (the parser drivers join pages with them) or, without markers, when the parser counted one page.
 */
export function chunkRow(c: Chunk, pageCount?: number | null): ChunkRow {
  const meta: Record<string, unknown> = { heading_path: c.headingPath };
  if (c.pageStart !== undefined && c.pageEnd !== undefined) {
    meta['page_start'] = c.pageStart;
    meta['page_end'] = c.pageEnd;
  } else if (pageCount === 1) {
    meta['page_start'] = 1;
    meta['page_end'] = 1;
  }
  return {
    chunkId: c.chunkId,
    chunker: c.chunker,
    version: c.version,
    ord: c.ord,
    text: c.text,
    chunkSha: c.chunkSha,
    tokenCount: c.tokenCount,
    meta,
  };
}
