import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Chunk, chunkMarkdown } from '@app/chunking';
import { PermanentError } from '@app/errors';
import { EMBEDDER, Embedder } from '@app/embedder-client';
import { STORAGE, StorageDriver } from '@app/storage';
import { prepared, runPrepared } from '@app/database';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

const ROWS_PER_INSERT = 500;
const CHUNK_COLUMNS = 'chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count, meta';

/**
 * chunking: markdown-aware, token-bounded chunks (never over the embedder's input limit) with
 * deterministic UUIDv5 ids, written with ON CONFLICT DO NOTHING so a re-run writes nothing twice. The last (for most
 * documents the only) slice of rows goes in the transition's own statement: one round trip fewer. When that statement
 * wrote them all into an empty buffer, the chunks are handed to embedding in the claim's scratch.
 */
@Injectable()
export class ChunkHandler implements StageHandler {
  readonly stages = ['chunking'] as const;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
  ) {}

  async run({ document, scratch }: JobContext): Promise<StageResult> {
    if (!document.parsedPath) throw new PermanentError('document has no parsed text', { code: 'no_parsed_text' });
    const md = scratch.markdown ?? (await this.storage.getObjectBuffer(document.parsedPath, this.opts.maxDocumentBytes * 4)).toString('utf8');
    scratch.markdown = undefined; // not needed past here: let it go
    const chunks = chunkMarkdown(md, {
      documentId: document.documentId,
      chunker: this.opts.chunker.name,
      version: this.opts.chunker.version,
      maxTokens: this.opts.chunker.maxTokens,
      overlapTokens: this.opts.chunker.overlapTokens,
      hardMaxTokens: this.embedder.maxInputTokens,
    });
    if (!chunks.length) throw new PermanentError('no chunks could be made from the parsed text', { code: 'empty_document' });

    // Every slice but the last in statements of their own; the last (for most documents, the only one) in the
    // transition's statement, written only when the transition applies. ON CONFLICT DO NOTHING: a re-run after a
    // crash between the earlier slices and the transition writes none of them twice.
    const last = Math.floor((chunks.length - 1) / ROWS_PER_INSERT) * ROWS_PER_INSERT;
    for (let i = 0; i < last; i += ROWS_PER_INSERT) {
      await runPrepared(this.ds, prepared(`INSERT INTO upload_pipeline.document_chunk_buffer (${CHUNK_COLUMNS})
         ${chunkRows(['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9'])}
         ON CONFLICT DO NOTHING`),
        chunkParams(chunks.slice(i, i + ROWS_PER_INSERT), document.documentId),
      );
    }
    const tail = chunkParams(chunks.slice(last), document.documentId);
    scratch.chunks = undefined;
    const tokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
    return {
      type: 'advance',
      progress: { chunks_total: chunks.length, chunks_embedded: 0, tokens_total: tokens },
      detail: { chunks: chunks.length, tokens },
      writes: {
        after: (p) => {
          const rows = chunkRows(tail.map((v) => p(v)));
          return `chunk_rows AS (
            INSERT INTO upload_pipeline.document_chunk_buffer (${CHUNK_COLUMNS})
            ${rows} WHERE EXISTS (SELECT 1 FROM upd)
            ON CONFLICT DO NOTHING
          )`;
        },
        // the rows buffered before this statement (its own inserts are not in its snapshot)
        report: `(SELECT count(*) FROM upload_pipeline.document_chunk_buffer b WHERE b.document_id = (SELECT document_id FROM upd))`,
        onReport: (before, applied) => {
          // every chunk went in with the transition, into an empty buffer: the buffer is these chunks, none with a vector
          if (applied && last === 0 && Number(before) === 0) {
            scratch.chunks = chunks.map((c) => ({ id: c.chunkId, text: c.text, tokens: c.tokenCount }));
          }
        },
      },
    };
  }
}

/** The rows of a chunk insert from the nine arrays' placeholders (in the order of CHUNK_COLUMNS). */
function chunkRows(a: string[]): string {
  return `SELECT * FROM unnest(${a[0]}::uuid[], ${a[1]}::uuid[], ${a[2]}::text[], ${a[3]}::int[], ${a[4]}::int[], ${a[5]}::text[],
                             ${a[6]}::char(64)[], ${a[7]}::int[], ${a[8]}::jsonb[])`;
}

/** The unnest arrays of `slice`, in the order of CHUNK_COLUMNS. */
function chunkParams(slice: Chunk[], documentId: string): unknown[] {
  return [
    slice.map((c) => c.chunkId),
    slice.map(() => documentId),
    slice.map((c) => c.chunker),
    slice.map((c) => c.version),
    slice.map((c) => c.ord),
    slice.map((c) => c.text),
    slice.map((c) => c.chunkSha),
    slice.map((c) => c.tokenCount),
    slice.map((c) => JSON.stringify({ heading_path: c.headingPath })),
  ];
}
