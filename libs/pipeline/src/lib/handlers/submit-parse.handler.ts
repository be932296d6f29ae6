import { Inject, Injectable } from '@nestjs/common';
import { PARSER_CLIENT, ParserClient } from '@app/parser-client';
import { STORAGE, StorageDriver } from '@app/storage';
import { JobStore, parserWebhookUrl } from '@app/jobs';
import type { JobContext, StageHandler, StageResult } from '../job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from '../pipeline.options';

/**
 * parse_queued: hand the bytes to the parser with a webhook URL and the job's secret; the job then
 * waits at `parsing` until the webhook (or, after webhookTimeoutMs, a poll) says the parse is done.
 */
@Injectable()
export class SubmitParseHandler implements StageHandler {
  readonly stages = ['parse_queued'] as const;

  constructor(
    private readonly store: JobStore,
    @Inject(STORAGE) private readonly storage: StorageDriver,
    @Inject(PARSER_CLIENT) private readonly parser: ParserClient,
    @Inject(PIPELINE_OPTIONS) private readonly opts: PipelineOptions,
  ) {}

  async run({ job, document, signal, scratch }: JobContext): Promise<StageResult> {
    // the bytes job_validated checked in this claim, or read now
    // (within the same cap a read has: over it, the read below refuses it)
    const handed = scratch.raw && scratch.raw.length <= this.opts.maxDocumentBytes ? scratch.raw : undefined;
    const body = handed ?? (await this.storage.getObjectBuffer(document.rawPath, this.opts.maxDocumentBytes));
    scratch.raw = undefined;
    // The claim statement returns the whole row, secret included; a job re-read through the repository
    // has no secret (the column is `select: false`), so read it then.
    const webhookSecret = job.webhookSecret || (await this.store.webhookSecret(job.jobId));
    const { parserJobId } = await this.parser.submit(
      {
        fileName: document.filename,
        mime: document.mime,
        body,
        webhookUrl: parserWebhookUrl(this.opts.webhookBaseUrl, job.jobId),
        webhookSecret,
        ocr: document.ocr,
      },
      { signal },
    );
    return {
      type: 'advance',
      parserJobId,
      nextAttemptAt: new Date(Date.now() + this.opts.webhookTimeoutMs),
      detail: { parser_job_id: parserJobId },
    };
  }
}
