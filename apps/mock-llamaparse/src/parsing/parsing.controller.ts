import { Body, Controller, Get, HttpCode, Param, Post, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { DetailException } from '../common/detail.exception';
import { StatsService } from '../faults/stats.service';
import { detectDocumentType } from '../parsers/parser.registry';
import { ApiKeyGuard } from './api-key.guard';
import { Job } from './job.model';
import { JobsService } from './jobs.service';
import {
  JobMetadata,
  JobStatusResponse,
  JsonPage,
  JsonPageItem,
  JsonResultResponse,
  MarkdownResultResponse,
  TextResultResponse,
  UploadFields,
  UploadResponse,
} from './parsing.dto';
import { PAGE_HEIGHT, PAGE_WIDTH, markdownToItems } from './page-items';
import { UploadInterceptor, UploadedPart } from './upload.interceptor';

const MAX_SECRET_LENGTH = 1024;

/** A multipart text field: the first value when repeated; undefined when absent, empty or not text. */
function field(fields: UploadFields | undefined, name: string): string | undefined {
  const raw = fields?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function webhookUrlOf(fields: UploadFields | undefined): string | undefined {
  const value = field(fields, 'webhook_url');
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DetailException(400, 'Invalid webhook_url: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DetailException(400, 'Invalid webhook_url: must be an http or https URL');
  return url.toString();
}

/**
 * `disable_ocr` (LlamaParse v1's form field, as `LlamaParseReader` sends it): `true` turns OCR of image-only PDF
 * pages off, `false` asks for it; absent: the mock's default (MOCK_LLAMAPARSE_OCR_DEFAULT).
 */
function ocrOf(fields: UploadFields | undefined): boolean | undefined {
  const value = field(fields, 'disable_ocr')?.toLowerCase();
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return false;
  if (value === 'false' || value === '0') return true;
  throw new DetailException(400, 'Invalid disable_ocr: must be true or false');
}

const MAX_PAGE_SEPARATOR_LENGTH = 1024;

/**
 * `page_separator` (LlamaParse v1's form field): joins the pages of the markdown and text results, `{pageNumber}`
 * replaced by the number of the page that follows. Taken as sent (not trimmed: line breaks are the point; the CRLF
 * that multipart makes of a line feed is read as LF); absent or empty: the default `\n\n---\n\n`.
 */
function pageSeparatorOf(fields: UploadFields | undefined): string | undefined {
  const raw = fields?.['page_separator'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.length > MAX_PAGE_SEPARATOR_LENGTH)
    throw new DetailException(400, `page_separator is longer than ${MAX_PAGE_SEPARATOR_LENGTH} characters`);
  return value.replace(/\r\n?/g, '\n');
}

function metadataOf(job: Job): JobMetadata {
  const pages = job.result?.pages ?? 0;
  return {
    credits_used: pages,
    job_credits_usage: pages,
    job_pages: pages,
    job_auto_mode_triggered_pages: 0,
    job_is_cache_hit: false,
    ocr_pages: job.result?.ocrPages ?? 0,
  };
}

/** LlamaParse v1 parsing API (also under the older `/api/parsing` prefix). */
@Controller(['api/v1/parsing', 'api/parsing'])
@UseGuards(ApiKeyGuard)
export class ParsingController {
  constructor(
    private readonly jobs: JobsService,
    private readonly stats: StatsService,
  ) {}

  @Post('upload')
  @HttpCode(200)
  @UseInterceptors(UploadInterceptor)
  upload(@UploadedFile() file: UploadedPart | undefined, @Body() fields: UploadFields | undefined): UploadResponse {
    if (!file) throw new DetailException(400, 'No file uploaded: send the document in the multipart field "file"');
    const type = detectDocumentType(file.originalname, file.mimetype);
    if (!type)
      throw new DetailException(
        400,
        `Unsupported file type: "${file.originalname}" (${file.mimetype || 'no content type'}); supported: .txt, .md, .markdown, .html, .htm, .pdf, .docx`,
      );
    if (file.size === 0) throw new DetailException(400, 'File is empty');
    const webhookSecret = field(fields, 'webhook_secret');
    if (webhookSecret && webhookSecret.length > MAX_SECRET_LENGTH)
      throw new DetailException(400, `webhook_secret is longer than ${MAX_SECRET_LENGTH} characters`);
    const job = this.jobs.submit({
      type,
      filename: file.originalname,
      bytes: file.buffer,
      webhookUrl: webhookUrlOf(fields),
      webhookSecret,
      ocr: ocrOf(fields),
      pageSeparator: pageSeparatorOf(fields),
    });
    return { id: job.id, status: job.status };
  }

  @Get('job/:id')
  status(@Param('id') id: string): JobStatusResponse {
    const job = this.find(id);
    this.stats.statusCheck();
    const response: JobStatusResponse = { id: job.id, status: job.partialSuccess ? 'PARTIAL_SUCCESS' : job.status };
    if (job.status === 'ERROR' || job.status === 'CANCELED') {
      response.error_code = job.errorCode ?? job.status;
      response.error_message = job.errorMessage;
    }
    return response;
  }

  @Get('job/:id/result/markdown')
  markdown(@Param('id') id: string): MarkdownResultResponse {
    const job = this.finished(id);
    return { markdown: job.result?.markdown ?? '', job_metadata: metadataOf(job) };
  }

  @Get('job/:id/result/text')
  text(@Param('id') id: string): TextResultResponse {
    const job = this.finished(id);
    return { text: job.result?.text ?? '', job_metadata: metadataOf(job) };
  }

  /** Pages with their text, markdown and typed items: what `LlamaParseReader.loadJson` reads. */
  @Get('job/:id/result/json')
  json(@Param('id') id: string): JsonResultResponse {
    const job = this.finished(id);
    const pages = (job.result?.pageResults ?? []).map((page, i): JsonPage => ({
      page: i + 1,
      text: page.text,
      md: page.markdown,
      images: [],
      charts: [],
      tables: [],
      layout: [],
      links: [],
      items: markdownToItems(page.markdown).map((item): JsonPageItem => {
        if (item.type === 'heading') return { type: 'heading', lvl: item.level, value: item.value, md: item.md };
        if (item.type === 'table') return { type: 'table', rows: item.rows, md: item.md, isPerfectTable: true, csv: item.csv };
        return { type: 'text', value: item.value, md: item.md };
      }),
      status: 'OK',
      width: PAGE_WIDTH,
      height: PAGE_HEIGHT,
      triggeredAutoMode: false,
      structuredData: null,
      noStructuredContent: false,
      noTextContent: page.text.trim() === '',
    }));
    return { pages, job_metadata: metadataOf(job), file_name: job.filename };
  }

  private find(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new DetailException(404, 'Job not found');
    return job;
  }

  /** A job whose result can be read: 404 while PENDING (as LlamaParse), 400 when it failed or was canceled. */
  private finished(id: string): Job {
    const job = this.find(id);
    if (job.status === 'PENDING') throw new DetailException(404, 'Job not completed');
    if (job.status === 'ERROR') throw new DetailException(400, `Job failed: ${job.errorMessage ?? 'unknown error'}`);
    if (job.status === 'CANCELED') throw new DetailException(400, 'Job was canceled');
    return job;
  }
}
