import { Inject, Injectable } from '@nestjs/common';
import { MIN_READABLE_CHARS, hasReadableText, markdownSha256 } from '@app/chunking';
import { PermanentError } from '@app/errors';
import { STORAGE, StorageDriver } from '@app/storage';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

/** What a user reads when nothing readable came out of the parser. */
export const NO_TEXT_MESSAGE = 'no readable text was found; if this is a scan, upload it with ocr: true';

/**
 * parsed: the markdown has readable text after normalization (at least {@link MIN_READABLE_CHARS} letters or
 * digits, any script); else the job is dead-lettered `no_text` (empty output, only separators or punctuation,
 * an image-only scan parsed without OCR). Its hash (same normalization) is recorded.
 */
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
    if (!hasReadableText(md, MIN_READABLE_CHARS)) throw new PermanentError(NO_TEXT_MESSAGE, { code: 'no_text', service: 'parser' });
    const sha = markdownSha256(md);
    return { type: 'advance', document: { parsedSha256: sha } };
  }
}
