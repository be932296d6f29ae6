import { Inject, Injectable } from '@nestjs/common';
import { PermanentError } from '@app/circuit-breaker';
import { PARSER_CLIENT, ParserClient, parserJobStatusOf, type ParserStatusResult } from '@app/parser-client';
import { STORAGE, StorageDriver, storageKey } from '@app/storage';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

/**
 * parsing: the parser said it is done (webhook) or the wait timed out. When the parser's signed webhook reported
 * success for this parse (the claim read it), fetch the markdown; otherwise ask the parser for the job's status
 * first. When it succeeded, store the markdown and record where it is.
 */
@Injectable()
export class FetchParseHandler implements StageHandler {
  readonly stages = ['parsing'] as const;

  constructor(
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(PARSER_CLIENT) private readonly parser: ParserClient,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
  ) {}

  async run({ job, document, signal, scratch }: JobContext): Promise<StageResult> {
    if (!job.parserJobId) throw new PermanentError('job is at parsing without a parser job id', { code: 'no_parser_job' });
    const status = await this.parseStatus(job.parserJobId, scratch.parserReportedStatus, signal);
    if (status.status === 'PENDING') {
      return { type: 'parser_pending', nextAttemptAt: new Date(Date.now() + this.opts.parserPollIntervalMs) };
    }
    if (status.status !== 'SUCCESS') {
      throw new PermanentError(`parser ${status.status.toLowerCase()}: ${status.errorMessage ?? 'no reason given'}`, {
        code: 'parse_failed',
        service: 'parser',
      });
    }
    const { markdown, pages } = await this.parser.markdown(job.parserJobId, { signal });
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
   * The parse's status: SUCCESS when the parser's signed webhook said so (the claim read it: no call to the parser on
   * the path every document takes), else the parser's own answer (no webhook: the wait timed out; or one reporting
   * a failure, whose reason only the status answer has).
   */
  private async parseStatus(parserJobId: string, reported: string | undefined, signal: AbortSignal): Promise<ParserStatusResult> {
    if (parserJobStatusOf(reported) === 'SUCCESS') return { status: 'SUCCESS' };
    return this.parser.status(parserJobId, { signal });
  }
}
