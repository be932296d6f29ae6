import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { chunkMarkdown } from '@app/chunking';
import { PermanentError } from '@app/circuit-breaker';
import { EMBEDDER, Embedder } from '@app/embedder-client';
import { STORAGE, StorageDriver } from '@app/storage';
import { prepared, runPrepared } from '@app/database';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

const ROWS_PER_INSERT = 500;

/**
 * chunking: markdown-aware, token-bounded chunks (never over the embedder's input limit) with
 * deterministic UUIDv5 ids, written with ON CONFLICT DO NOTHING so a re-run writes nothing twice.
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

    let written = 0;
    for (let i = 0; i < chunks.length; i += ROWS_PER_INSERT) {
      const slice = chunks.slice(i, i + ROWS_PER_INSERT);
      const r = (await runPrepared(this.ds, prepared(`INSERT INTO upload_pipeline.document_chunk_buffer
           (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count, meta)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[], $6::text[], $7::char(64)[], $8::int[], $9::jsonb[])
         ON CONFLICT DO NOTHING
         RETURNING 1`),
        [
          slice.map((c) => c.chunkId),
          slice.map(() => document.documentId),
          slice.map((c) => c.chunker),
          slice.map((c) => c.version),
          slice.map((c) => c.ord),
          slice.map((c) => c.text),
          slice.map((c) => c.chunkSha),
          slice.map((c) => c.tokenCount),
          slice.map((c) => JSON.stringify({ heading_path: c.headingPath })),
        ],
      )) as unknown[];
      written += r.length;
    }
    const tokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
    return {
      type: 'advance',
      progress: { chunks_total: chunks.length, chunks_embedded: 0, tokens_total: tokens },
      detail: { chunks: chunks.length, written, tokens },
    };
  }
}
