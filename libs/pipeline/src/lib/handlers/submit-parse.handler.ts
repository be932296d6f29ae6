import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PARSER_CLIENT, ParserClient } from '@app/parser-client';
import { STORAGE, StorageDriver } from '@app/storage';
import { prepared, runPrepared } from '@app/database';
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
    @InjectDataSource() private readonly ds: DataSource,
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
    const webhookSecret = job.webhookSecret || (await this.readWebhookSecret(job.jobId));
    const { parserJobId } = await this.parser.submit(
      {
        fileName: document.filename,
        mime: document.mime,
        body,
        webhookUrl: `${this.opts.webhookBaseUrl.replace(/\/$/, '')}/webhooks/llamaparse/${job.jobId}`,
        webhookSecret,
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

  private async readWebhookSecret(jobId: string): Promise<string> {
    const rows = await runPrepared<{ webhook_secret: string }>(
      this.ds,
      prepared(`SELECT webhook_secret FROM upload_pipeline.upload_jobs WHERE job_id = $1`),
      [jobId],
    );
    if (!rows.length) throw new Error(`job ${jobId} is gone`);
    return rows[0].webhook_secret;
  }
}
