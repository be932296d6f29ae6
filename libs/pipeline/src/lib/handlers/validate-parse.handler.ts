import { Inject, Injectable } from '@nestjs/common';
import { isEffectivelyEmpty, markdownSha256 } from '@app/chunking';
import { PermanentError } from '@app/errors';
import { STORAGE, StorageDriver } from '@app/storage';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

/** parsed: the markdown is non-empty after normalization; its hash (same normalization) is recorded. */
@Injectable()
export class ValidateParseHandler implements StageHandler {
  readonly stages = ['parsed'] as const;
  /** A re-run reads and checks the stored markdown again. */
  readonly commitsWithNext = true;

  constructor(
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
  ) {}

  async run({ document, scratch }: JobContext): Promise<StageResult> {
    if (!document.parsedPath) throw new PermanentError('document has no parsed text', { code: 'no_parsed_text' });
    const md = scratch.markdown ?? (await this.storage.getObjectBuffer(document.parsedPath, this.opts.maxDocumentBytes * 4)).toString('utf8');
    scratch.markdown = md;
    if (isEffectivelyEmpty(md)) {
      throw new PermanentError('the parser found no text in this document', { code: 'empty_document', service: 'parser' });
    }
    const sha = markdownSha256(md);
    return { type: 'advance', document: { parsedSha256: sha } };
  }
}
