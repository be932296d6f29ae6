import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { APP_CONFIG, MockLlamaParseConfig } from '../app.config';
import { DocxParser } from './docx.parser';
import { HtmlParser } from './html.parser';
import { OcrEngine } from './ocr/ocr.engine';
import { DocumentParser, DocumentType, ParseOptions, ParsedPage } from './parser';
import { PdfParser } from './pdf.parser';
import { TextParser } from './text.parser';

/**
 * Pages of a multi-page document are joined with this in the markdown and text results, unless the upload chose
 * its own (v1's `page_separator` form field).
 */
export const PAGE_SEPARATOR = '\n\n---\n\n';

/**
 * Pages joined with a separator, as LlamaParse's v1 `page_separator` is applied: `{pageNumber}` in it is replaced
 * by the number of the page that follows (1-based).
 */
export function joinPages(pages: readonly string[], separator: string = PAGE_SEPARATOR): string {
  return pages.map((p, i) => (i === 0 ? p : separator.replaceAll('{pageNumber}', String(i + 1)) + p)).join('');
}

const BY_EXTENSION: Readonly<Record<string, DocumentType>> = {
  txt: 'txt',
  text: 'txt',
  md: 'md',
  markdown: 'md',
  html: 'html',
  htm: 'html',
  pdf: 'pdf',
  docx: 'docx',
};

const BY_MIME: Readonly<Record<string, DocumentType>> = {
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/x-markdown': 'md',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};

/**
 * The document type of an upload: by a supported file extension first (as LlamaParse does), else by the
 * part's content type; `undefined` when neither is supported (`application/octet-stream` tells nothing).
 */
export function detectDocumentType(filename: string | undefined, mime: string | undefined): DocumentType | undefined {
  const dot = filename?.lastIndexOf('.') ?? -1;
  const ext = filename && dot >= 0 ? filename.slice(dot + 1).toLowerCase() : '';
  if (ext && Object.hasOwn(BY_EXTENSION, ext)) return BY_EXTENSION[ext];
  const type = mime?.split(';')[0]?.trim().toLowerCase() ?? '';
  return Object.hasOwn(BY_MIME, type) ? BY_MIME[type] : undefined;
}

export interface ParseOutput {
  markdown: string;
  text: string;
  pages: number;
  /** The pages one by one (page n is `pageResults[n - 1]`): for the JSON (v1) and per-page (v2) results. */
  pageResults: ParsedPage[];
  /** Pages read by OCR (image-only PDF pages); 0 when OCR did not run. */
  ocrPages: number;
}

/**
 * One parser per document type; joins a document's pages with {@link PAGE_SEPARATOR} (or the upload's own). Owns the one OCR engine
 * (a Tesseract worker thread, started on the first image-only PDF page and stopped with the app).
 */
@Injectable()
export class ParserRegistry implements OnModuleDestroy {
  private readonly parsers = new Map<DocumentType, DocumentParser>();
  readonly ocr = new OcrEngine();

  constructor(@Optional() @Inject(APP_CONFIG) config: MockLlamaParseConfig = new MockLlamaParseConfig()) {
    const pdf = new PdfParser({
      recognizer: this.ocr,
      byDefault: config.MOCK_LLAMAPARSE_OCR_DEFAULT === 'on',
      maxPages: config.MOCK_LLAMAPARSE_OCR_MAX_PAGES,
      timeoutMs: config.MOCK_LLAMAPARSE_OCR_TIMEOUT_MS,
    });
    for (const parser of [new TextParser(), new HtmlParser(), pdf, new DocxParser()])
      for (const type of parser.types) this.parsers.set(type, parser);
  }

  async parse(type: DocumentType, bytes: Uint8Array, options: ParseOptions = {}): Promise<ParseOutput> {
    const parser = this.parsers.get(type);
    if (!parser) throw new Error(`No parser for ${type}`);
    const { pages, ocrPages } = await parser.parse(bytes, type, options);
    return {
      markdown: joinPages(
        pages.map((p) => p.markdown),
        options.pageSeparator,
      ),
      text: joinPages(
        pages.map((p) => p.text),
        options.pageSeparator,
      ),
      pages: pages.length,
      pageResults: pages,
      ocrPages: ocrPages ?? 0,
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.ocr.close();
  }
}
