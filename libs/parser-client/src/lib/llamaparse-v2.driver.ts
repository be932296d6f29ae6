import { request } from 'undici';
import { PermanentError } from '@app/errors';
import { ServicePolicy } from '@app/circuit-breaker';
import { LlamaParseOptions } from './parser-client.config';
import {
  ParserCallOptions,
  ParserClient,
  ParserJobStatus,
  ParserMarkdownResult,
  ParserStatusResult,
  ParserSubmitRequest,
} from './parser-client.interface';
import { Json, LlamaParseHttp, PING_JOB_ID, SERVICE, badShape, isObject } from './llamaparse.http';
import { multipartBody } from './multipart-body';
import { joinPages } from './page-separator';

const V2_STATUS: Record<string, ParserJobStatus> = {
  PENDING: 'PENDING',
  RUNNING: 'PENDING',
  COMPLETED: 'SUCCESS',
  FAILED: 'ERROR',
  CANCELLED: 'CANCELED',
  CANCELED: 'CANCELED',
};

function v2StatusOf(raw: unknown): ParserJobStatus | undefined {
  const key = typeof raw === 'string' ? raw.toUpperCase() : '';
  return Object.hasOwn(V2_STATUS, key) ? V2_STATUS[key] : undefined;
}

/** The `job` object of a v2 answer (`GET /api/v2/parse/:id`), or the upload's answer itself. */
function jobOf(body: Json, what: string): Json {
  const job = body['job'];
  if (isObject(job)) return job;
  throw badShape(what, 'no job');
}

/**
 * LlamaParse v2 driver (`/api/v2/parse`; the real service and apps/mock-llamaparse), the default
 * (`PARSER_API_VERSION=v2`). Every call runs through the `parser` ServicePolicy (timeout per attempt, retry, breaker).
 *
 * submit: `POST /api/v2/parse/upload`, multipart `file` and one `configuration` field (JSON, as the official client
 * sends it): `tier`, `version`, the language as `processing_options.ocr_parameters.languages`, and one
 * `webhook_configurations` entry (the job's URL, events parse.success and parse.error, the job's secret as
 * `webhook_signing_secret`, output format `json`): the parser signs its webhook `LC-Signature: sha256=<hex>`.
 * status: `GET /api/v2/parse/:id` (PENDING and RUNNING are pending, COMPLETED success, FAILED error, CANCELLED
 * canceled). markdown: `GET /api/v2/parse/:id?expand=markdown`, the pages joined with PAGE_SEPARATOR_TEMPLATE (page-separator.ts); a job not COMPLETED answers as
 * v1's "Job not completed" does (a permanent error with status 404), so the caller asks for the status.
 */
export class LlamaParseV2Client extends LlamaParseHttp implements ParserClient {
  constructor(options: LlamaParseOptions, policy: ServicePolicy) {
    super(options, policy, 'LlamaParseV2Client');
  }

  private url(path: string): string {
    return `${this.baseUrl}/api/v2/parse${path}`;
  }

  /** The upload's `configuration` for one document. */
  configuration(req: Pick<ParserSubmitRequest, 'webhookUrl' | 'webhookSecret' | 'ocr'>): Json {
    const parse = this.options.parse ?? {};
    const config: Json = { tier: parse.tier ?? 'cost_effective', version: parse.version || 'latest' };
    const processing: Json = {};
    if (parse.language) processing['ocr_parameters'] = { languages: [parse.language] };
    // text in images read (OCR); without it the service's default
    if (req.ocr) processing['ignore'] = { ignore_text_in_image: false };
    if (Object.keys(processing).length) config['processing_options'] = processing;
    if (req.webhookUrl)
      config['webhook_configurations'] = [
        {
          webhook_url: req.webhookUrl,
          webhook_events: ['parse.success', 'parse.error'],
          ...(req.webhookSecret ? { webhook_signing_secret: req.webhookSecret } : {}),
          webhook_output_format: 'json',
        },
      ];
    return config;
  }

  submit(req: ParserSubmitRequest, opts?: ParserCallOptions): Promise<{ parserJobId: string }> {
    const form = multipartBody([
      ['file', { bytes: req.body, type: req.mime, fileName: req.fileName }],
      ['configuration', JSON.stringify(this.configuration(req))],
    ]);
    return this.run(
      'upload',
      this.uploadTimeoutMs,
      opts,
      (signal) =>
        request(this.url('/upload'), {
          method: 'POST',
          headers: { ...this.authHeaders, 'content-type': form.contentType },
          body: form.body,
          signal,
        }),
      (body) => {
        // the job itself (`{id, status, ...}`); some answers wrap it as `{job: {...}}`
        const job = isObject(body['job']) ? body['job'] : body;
        const id = job['id'];
        if (typeof id !== 'string' || !id) throw badShape('upload', 'no job id');
        return { parserJobId: id };
      },
    );
  }

  status(parserJobId: string, opts?: ParserCallOptions): Promise<ParserStatusResult> {
    return this.get('job status', this.url(`/${encodeURIComponent(parserJobId)}`), opts, (body) => {
      const job = jobOf(body, 'job status');
      const status = v2StatusOf(job['status']);
      if (!status) throw badShape('job status', `unknown status ${JSON.stringify(job['status'])}`);
      const result: ParserStatusResult = { status };
      const msg = job['error_message'];
      if (status !== 'SUCCESS' && typeof msg === 'string' && msg) result.errorMessage = msg;
      return result;
    });
  }

  markdown(parserJobId: string, opts?: ParserCallOptions): Promise<ParserMarkdownResult> {
    return this.get('markdown result', this.url(`/${encodeURIComponent(parserJobId)}?expand=markdown`), opts, (body) => {
      const job = jobOf(body, 'markdown result');
      if (v2StatusOf(job['status']) !== 'SUCCESS')
        throw new PermanentError(`markdown result: job not completed (${String(job['status'])})`, {
          code: 'job_not_ready',
          service: SERVICE,
          status: 404,
        });
      const md = body['markdown'];
      const pages = isObject(md) ? md['pages'] : undefined;
      if (!Array.isArray(pages)) throw badShape('markdown result', 'no markdown pages');
      const texts = pages
        .filter(isObject)
        .sort((a, b) => Number(a['page_number']) - Number(b['page_number']))
        .map((p) => (typeof p['markdown'] === 'string' ? p['markdown'] : ''));
      if (texts.length !== pages.length) throw badShape('markdown result', 'a page is not an object');
      return { markdown: joinPages(texts), pages: texts.length };
    });
  }

  ping(opts?: ParserCallOptions): Promise<void> {
    return this.pingUrl(this.url(`/${PING_JOB_ID}`), opts);
  }
}
