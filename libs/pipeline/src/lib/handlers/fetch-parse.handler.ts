import { Inject, Injectable } from '@nestjs/common';
import { PermanentError } from '@app/errors';
import { PARSER_CLIENT, ParserClient, ParserMarkdownResult, parserJobStatusOf } from '@app/parser-client';
import { STORAGE, StorageDriver, storageKey } from '@app/storage';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

/**
 * parsing: the parser said it is done (webhook) or the wait timed out. When the parser's signed webhook reported
 * success for this parse (the claim read it), fetch the markdown straight away; otherwise, or when the parser does
 * not have the result yet (404), ask the parser for the job's status first. When it succeeded, store the markdown
 * and record where it is.
 */
@Injectable()
export class FetchParseHandler implements StageHandler {
  readonly stages = ['parsing'] as const;
  /**
   * Its transition goes with chunking's (one commit for parsing, parsed and chunking). A re-run after a crash before
   * that commit fetches the parser's result again and stores it under the same key.
   */
  readonly commitsWithNext = true;

  constructor(
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(PARSER_CLIENT) private readonly parser: ParserClient,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
  ) {}

  async run({ job, document, signal, scratch }: JobContext): Promise<StageResult> {
    const parserJobId = job.parserJobId;
    if (!parserJobId) throw new PermanentError('job is at parsing without a parser job id', { code: 'no_parser_job' });
    // the webhook's word saves the status call on the path every document takes
    let result = parserJobStatusOf(scratch.parserReportedStatus) === 'SUCCESS' ? await this.markdownIfThere(parserJobId, signal) : null;
    if (!result) {
      const status = await this.parser.status(parserJobId, { signal });
      if (status.status === 'PENDING') {
        return { type: 'parser_pending', nextAttemptAt: new Date(Date.now() + this.opts.parserPollIntervalMs) };
      }
      if (status.status !== 'SUCCESS') {
        throw new PermanentError(`parser ${status.status.toLowerCase()}: ${status.errorMessage ?? 'no reason given'}`, {
          code: 'parse_failed',
          service: 'parser',
        });
      }
      result = await this.parser.markdown(parserJobId, { signal });
    }
    const { markdown, pages } = result;
    const key = storageKey.parsed(document.userId, document.documentId);
    const bytes = Buffer.from(markdown, 'utf8');
    const stored = await this.storage.putObject(key, bytes, { contentType: 'text/markdown; charset=utf-8' });
    // Handed to the next stages as a later read of the stored object gives it, within the same size cap
    // (over it they read from storage, and fail the same way a re-run would).
    if (bytes.length <= this.opts.maxDocumentBytes * 4) scratch.markdown = bytes.toString('utf8');
    return {
      type: 'advance',
      progress: { pages },
      detail: { pages, markdown_bytes: stored.size },
      document: { parsedPath: key, pageCount: pages },
    };
  }

  /**
   * The markdown, or null when the parser answers 404 (LlamaParse: "Job not completed"): a result store may lag the
   * webhook, and the status answer then says whether to wait. Any other error is the call's own.
   */
  private async markdownIfThere(parserJobId: string, signal: AbortSignal): Promise<ParserMarkdownResult | null> {
    try {
      return await this.parser.markdown(parserJobId, { signal });
    } catch (e) {
      // by the HTTP status, not the code: a 404 body naming a code of its own gives the error that code
      if (e instanceof PermanentError && e.status === 404) return null;
      throw e;
    }
  }
}
