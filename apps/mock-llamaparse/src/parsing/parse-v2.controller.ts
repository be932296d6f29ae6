import { Body, Controller, Get, HttpCode, Param, Post, Query, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { DetailException } from '../common/detail.exception';
import { StatsService } from '../faults/stats.service';
import { detectDocumentType } from '../parsers/parser.registry';
import { ApiKeyGuard } from './api-key.guard';
import { Job, V2WebhookConfig } from './job.model';
import { JobsService } from './jobs.service';
import { PAGE_HEIGHT, PAGE_WIDTH, markdownToItems } from './page-items';
import { V2GetResponse, V2Job, V2JobStatus, V2_TIERS } from './parse-v2.dto';
import { UploadFields } from './parsing.dto';
import { UploadInterceptor, UploadedPart } from './upload.interceptor';

/** The project every job belongs to unless the caller names one (`?project_id=`). */
export const MOCK_PROJECT_ID = '00000000-0000-4000-8000-000000000001';

const MAX_SECRET_LENGTH = 1024;
const MAX_WEBHOOKS = 10;
const WEBHOOK_FORMATS = ['json', 'string'] as const;

function fieldValue(fields: UploadFields | undefined, name: string): unknown {
  const raw = fields?.[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

function parseJsonField(value: unknown, name: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new DetailException(400, `Invalid ${name}: not JSON`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The job configuration of an upload: the `configuration` field (a JSON object, as the official client sends
 * it), with the separate form fields `tier`, `version` and `webhook_configurations` (JSON) taking precedence.
 */
function configurationOf(fields: UploadFields | undefined): Record<string, unknown> {
  const raw = fieldValue(fields, 'configuration');
  const base = raw === undefined || raw === '' ? {} : parseJsonField(raw, 'configuration');
  if (!isRecord(base)) throw new DetailException(400, 'Invalid configuration: must be a JSON object');
  const config: Record<string, unknown> = { ...base };
  for (const name of ['tier', 'version']) {
    const value = fieldValue(fields, name);
    if (typeof value === 'string' && value.trim() !== '') config[name] = value.trim();
  }
  const hooks = fieldValue(fields, 'webhook_configurations');
  if (hooks !== undefined && hooks !== '') config.webhook_configurations = parseJsonField(hooks, 'webhook_configurations');
  return config;
}

/**
 * OCR as the v2 `configuration` asks: `processing_options.ignore.ignore_text_in_image` (LlamaParse v2's "skip OCR
 * text extraction from embedded images") `true` turns OCR of image-only PDF pages off, `false` asks for it;
 * absent or null: the mock's default (MOCK_LLAMAPARSE_OCR_DEFAULT).
 */
function ocrOf(config: Record<string, unknown>): boolean | undefined {
  const options = config.processing_options;
  if (options == null) return undefined;
  if (!isRecord(options)) throw new DetailException(400, 'Invalid processing_options: must be an object');
  const ignore = options.ignore;
  if (ignore == null) return undefined;
  if (!isRecord(ignore)) throw new DetailException(400, 'Invalid processing_options.ignore: must be an object');
  const value = ignore.ignore_text_in_image;
  if (value == null) return undefined;
  if (typeof value !== 'boolean') throw new DetailException(400, 'Invalid processing_options.ignore.ignore_text_in_image: must be a boolean');
  return !value;
}

function webhookOf(raw: unknown, i: number): V2WebhookConfig {
  const where = `webhook_configurations[${i}]`;
  if (!isRecord(raw)) throw new DetailException(400, `Invalid ${where}: must be an object`);
  const { webhook_url: url, webhook_events: events, webhook_signing_secret: secret, webhook_headers: headers } = raw;
  const format = raw.webhook_output_format ?? 'string';
  if (typeof url !== 'string' || url === '') throw new DetailException(400, `Invalid ${where}.webhook_url: required`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DetailException(400, `Invalid ${where}.webhook_url: not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new DetailException(400, `Invalid ${where}.webhook_url: must be an http or https URL`);
  if (events != null && (!Array.isArray(events) || !events.every((e) => typeof e === 'string')))
    throw new DetailException(400, `Invalid ${where}.webhook_events: must be a list of event names`);
  if (secret != null && (typeof secret !== 'string' || secret.length > MAX_SECRET_LENGTH))
    throw new DetailException(400, `Invalid ${where}.webhook_signing_secret: a string of at most ${MAX_SECRET_LENGTH} characters`);
  if (headers != null && (!isRecord(headers) || !Object.values(headers).every((v) => typeof v === 'string')))
    throw new DetailException(400, `Invalid ${where}.webhook_headers: must be an object of strings`);
  if (!WEBHOOK_FORMATS.includes(format as (typeof WEBHOOK_FORMATS)[number]))
    throw new DetailException(400, `Invalid ${where}.webhook_output_format: one of ${WEBHOOK_FORMATS.join(', ')}`);
  return {
    url: parsed.toString(),
    events: events == null ? undefined : (events as string[]),
    secret: secret ? (secret as string) : undefined,
    headers: headers == null ? undefined : (headers as Record<string, string>),
    outputFormat: format as V2WebhookConfig['outputFormat'],
  };
}

function v2Status(job: Job): V2JobStatus {
  switch (job.status) {
    case 'PENDING':
      return job.startedAt === undefined ? 'PENDING' : 'RUNNING';
    case 'SUCCESS':
      return 'COMPLETED';
    case 'ERROR':
      return 'FAILED';
    case 'CANCELED':
      return 'CANCELLED';
  }
}

function v2Job(job: Job): V2Job {
  return {
    id: job.id,
    project_id: job.v2?.projectId ?? MOCK_PROJECT_ID,
    status: v2Status(job),
    name: job.filename,
    tier: job.v2?.tier ?? 'fast',
    created_at: new Date(job.createdAt).toISOString(),
    updated_at: new Date(job.finishedAt ?? job.startedAt ?? job.createdAt).toISOString(),
    error_message: job.status === 'ERROR' || job.status === 'CANCELED' ? (job.errorMessage ?? job.status) : null,
  };
}

/** The `expand` values that add a result to the answer. */
const EXPANDABLE = new Set(['markdown', 'markdown_full', 'text', 'text_full', 'items', 'job_metadata']);

/** `expand` as the official client sends it (`expand=a&expand=b`) or comma-separated (`expand=a,b`). */
function expandOf(raw: unknown): Set<string> {
  const values = Array.isArray(raw) ? raw : [raw];
  return new Set(
    values
      .filter((v): v is string => typeof v === 'string')
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean),
  );
}

/**
 * LlamaParse v2 parse API: upload with a tier/version configuration, then one GET that reports the job and, when
 * it is COMPLETED, the expanded results (per-page markdown, text and typed items). Jobs share the v1 queue.
 */
@Controller('api/v2/parse')
@UseGuards(ApiKeyGuard)
export class ParseV2Controller {
  constructor(
    private readonly jobs: JobsService,
    private readonly stats: StatsService,
  ) {}

  @Post('upload')
  @HttpCode(200)
  @UseInterceptors(UploadInterceptor)
  upload(
    @UploadedFile() file: UploadedPart | undefined,
    @Body() fields: UploadFields | undefined,
    @Query('project_id') projectId?: string,
  ): V2Job {
    if (!file) throw new DetailException(400, 'No file uploaded: send the document in the multipart field "file"');
    const config = configurationOf(fields);
    const { tier, version } = config;
    if (typeof tier !== 'string' || !V2_TIERS.includes(tier as (typeof V2_TIERS)[number]))
      throw new DetailException(400, `Invalid tier: one of ${V2_TIERS.join(', ')}`);
    if (typeof version !== 'string' || version.trim() === '') throw new DetailException(400, 'Invalid version: required (e.g. "latest")');
    const hooks = config.webhook_configurations ?? [];
    if (!Array.isArray(hooks)) throw new DetailException(400, 'Invalid webhook_configurations: must be a list');
    if (hooks.length > MAX_WEBHOOKS) throw new DetailException(400, `Too many webhook_configurations: at most ${MAX_WEBHOOKS}`);
    const webhooks = hooks.map(webhookOf);
    const ocr = ocrOf(config);
    const type = detectDocumentType(file.originalname, file.mimetype);
    if (!type)
      throw new DetailException(
        400,
        `Unsupported file type: "${file.originalname}" (${file.mimetype || 'no content type'}); supported: .txt, .md, .markdown, .html, .htm, .pdf, .docx`,
      );
    if (file.size === 0) throw new DetailException(400, 'File is empty');
    const job = this.jobs.submit({
      type,
      filename: file.originalname,
      bytes: file.buffer,
      ocr,
      v2: { tier, version, projectId: projectId || MOCK_PROJECT_ID, webhooks },
    });
    return v2Job(job);
  }

  @Get(':id')
  get(@Param('id') id: string, @Query('expand') expand?: unknown): V2GetResponse {
    const job = this.jobs.get(id);
    if (!job) throw new DetailException(404, 'Job not found');
    const wanted = expandOf(expand);
    // a status answer, as v1's GET job/:id; the read of a completed job's expanded result is not one (as v1's result/*)
    const readsResult = job.status === 'SUCCESS' && [...wanted].some((w) => EXPANDABLE.has(w));
    if (!readsResult) this.stats.statusCheck();
    const response: V2GetResponse = { job: v2Job(job) };
    if (job.status !== 'SUCCESS' || !job.result) return response;
    const pages = job.result.pageResults;
    if (wanted.has('markdown'))
      response.markdown = { pages: pages.map((p, i) => ({ page_number: i + 1, markdown: p.markdown, success: true })) };
    if (wanted.has('markdown_full')) response.markdown_full = job.result.markdown;
    if (wanted.has('text')) response.text = { pages: pages.map((p, i) => ({ page_number: i + 1, text: p.text })) };
    if (wanted.has('text_full')) response.text_full = job.result.text;
    if (wanted.has('items'))
      response.items = {
        pages: pages.map((p, i) => ({
          page_number: i + 1,
          page_width: PAGE_WIDTH,
          page_height: PAGE_HEIGHT,
          success: true,
          items: markdownToItems(p.markdown),
        })),
      };
    if (wanted.has('job_metadata'))
      response.job_metadata = {
        job_pages: job.result.pages,
        job_is_cache_hit: false,
        tier: job.v2?.tier,
        version: job.v2?.version,
        ocr_pages: job.result.ocrPages,
      };
    return response;
  }
}
