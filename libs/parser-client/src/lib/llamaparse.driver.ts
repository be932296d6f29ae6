import { request } from 'undici';
import { ServicePolicy } from '@app/circuit-breaker';
import { LlamaParseOptions, LlamaParseTier } from './parser-client.config';
import {
  ParserCallOptions,
  ParserClient,
  ParserJobStatus,
  ParserMarkdownResult,
  ParserStatusResult,
  ParserSubmitRequest,
} from './parser-client.interface';
import { LlamaParseHttp, PING_JOB_ID, badShape, isObject } from './llamaparse.http';
import { MultipartFile, multipartBody } from './multipart-body';
import { PAGE_SEPARATOR_TEMPLATE } from './page-separator';

const STATUS_MAP: Record<string, ParserJobStatus> = {
  // v1
  PENDING: 'PENDING',
  SUCCESS: 'SUCCESS',
  PARTIAL_SUCCESS: 'SUCCESS',
  ERROR: 'ERROR',
  CANCELED: 'CANCELED',
  CANCELLED: 'CANCELED',
  // v2
  RUNNING: 'PENDING',
  COMPLETED: 'SUCCESS',
  FAILED: 'ERROR',
};

/**
 * A status as LlamaParse spells it (v1 and v2 job status answers and completion webhooks; any case;
 * PARTIAL_SUCCESS and COMPLETED count as SUCCESS, FAILED as ERROR, RUNNING as PENDING, CANCELLED as CANCELED)
 * in the client's terms; undefined for anything else.
 */
export function parserJobStatusOf(raw: unknown): ParserJobStatus | undefined {
  const key = typeof raw === 'string' ? raw.toUpperCase() : '';
  return Object.hasOwn(STATUS_MAP, key) ? STATUS_MAP[key] : undefined;
}

/** v1's `parse_mode` for a tier (v1 has no tiers; these are the modes the tiers replaced). */
const V1_PARSE_MODE: Record<LlamaParseTier, string> = {
  fast: 'parse_page_without_llm',
  cost_effective: 'parse_page_with_llm',
  agentic: 'parse_page_with_agent',
  agentic_plus: 'parse_page_with_agent',
};

/**
 * LlamaParse v1 REST driver (`/api/v1/parsing`; the real service and apps/mock-llamaparse), the second driver
 * (`PARSER_API_VERSION=v1`). Every call runs through the `parser` ServicePolicy (timeout per attempt, retry, breaker).
 *
 * The upload sends `webhook_url` and also `webhook_secret`: not a field of LlamaParse's v1 form (the real service
 * ignores it and does not sign its v1 webhooks), but the mock signs its v1 webhooks with it
 * (`X-Webhook-Signature`). An unsigned webhook is refused by the api (401), and the job then learns the outcome by
 * polling the parser after WEBHOOK_TIMEOUT_MS: against the real service v1 works by polling.
 */
export class LlamaParseClient extends LlamaParseHttp implements ParserClient {
  constructor(options: LlamaParseOptions, policy: ServicePolicy) {
    super(options, policy, 'LlamaParseClient');
  }

  private url(path: string): string {
    return `${this.baseUrl}/api/v1/parsing${path}`;
  }

  submit(req: ParserSubmitRequest, opts?: ParserCallOptions): Promise<{ parserJobId: string }> {
    const parse = this.options.parse ?? {};
    const fields: [string, string | MultipartFile][] = [
      ['file', { bytes: req.body, type: req.mime, fileName: req.fileName }],
      ['result_type', 'markdown'],
      // pages joined as the v2 driver joins them: `<!-- page N -->` markers, not the default `---`
      ['page_separator', PAGE_SEPARATOR_TEMPLATE],
    ];
    if (parse.tier) fields.push(['parse_mode', V1_PARSE_MODE[parse.tier]]);
    if (parse.language) fields.push(['language', parse.language]);
    if (req.ocr) fields.push(['disable_ocr', 'false']);
    if (req.webhookUrl) fields.push(['webhook_url', req.webhookUrl]);
    if (req.webhookSecret) fields.push(['webhook_secret', req.webhookSecret]);
    for (const [k, v] of Object.entries(this.options.uploadFields ?? {})) fields.push([k, v]);
    const form = multipartBody(fields);
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
        const id = body['id'];
        if (typeof id !== 'string' || !id) throw badShape('upload', 'no job id');
        return { parserJobId: id };
      },
    );
  }

  status(parserJobId: string, opts?: ParserCallOptions): Promise<ParserStatusResult> {
    return this.get('job status', this.url(`/job/${encodeURIComponent(parserJobId)}`), opts, (body) => {
      const status = parserJobStatusOf(body['status']);
      if (!status) throw badShape('job status', `unknown status ${JSON.stringify(body['status'])}`);
      const result: ParserStatusResult = { status };
      const msg = body['error_message'] ?? body['error'];
      if (typeof msg === 'string' && msg) result.errorMessage = msg;
      return result;
    });
  }

  markdown(parserJobId: string, opts?: ParserCallOptions): Promise<ParserMarkdownResult> {
    return this.get('markdown result', this.url(`/job/${encodeURIComponent(parserJobId)}/result/markdown`), opts, (body) => {
      const markdown = body['markdown'];
      if (typeof markdown !== 'string') throw badShape('markdown result', 'no markdown');
      const meta = body['job_metadata'];
      const pages = isObject(meta) ? Number(meta['job_pages']) : NaN;
      return { markdown, pages: Number.isFinite(pages) && pages >= 0 ? pages : 0 };
    });
  }

  ping(opts?: ParserCallOptions): Promise<void> {
    return this.pingUrl(this.url(`/job/${PING_JOB_ID}`), opts);
  }
}
