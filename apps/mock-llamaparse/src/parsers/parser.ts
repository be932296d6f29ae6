/** Document kinds the mock parses. */
export const DOCUMENT_TYPES = ['txt', 'md', 'html', 'pdf', 'docx'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** One page of output; formats that have no pages give exactly one. */
export interface ParsedPage {
  markdown: string;
  text: string;
}

export interface ParsedDocument {
  pages: ParsedPage[];
  /** Pages whose text was read by OCR (PDF pages without a text layer); 0 or absent when none. */
  ocrPages?: number;
}

/** What the upload asked for. */
export interface ParseOptions {
  /** OCR of image-only PDF pages: true on, false off; undefined: the parser's default. */
  ocr?: boolean;
  /** v1 `page_separator`: what joins the pages of the markdown and text results (`{pageNumber}`: the next page). */
  pageSeparator?: string;
}

/** Turns the bytes of one document type into pages of markdown and plain text. Same bytes, same output. */
export interface DocumentParser {
  readonly types: readonly DocumentType[];
  parse(bytes: Uint8Array, type: DocumentType, options?: ParseOptions): Promise<ParsedDocument>;
}

/** The document cannot be parsed (corrupt, wrong encoding, ...): the job ends in ERROR with this message. */
export class DocumentParseError extends Error {
  constructor(
    message: string,
    readonly code: string = 'PARSE_ERROR',
  ) {
    super(message);
    this.name = 'DocumentParseError';
  }
}

/** Normalizes CRLF and lone CR line endings to LF. */
export function normalizeNewlines(s: string): string {
  return s.replace(/\r\n?/g, '\n');
}

/** Output clean-up shared by the converting parsers: LF endings, no trailing spaces, at most one blank line, trimmed. */
export function tidyText(s: string): string {
  return normalizeNewlines(s)
    .replace(/[^\S\n]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Whether `s` has anything readable: at least one letter or digit (any script). */
export function hasReadableText(s: string): boolean {
  return /[\p{L}\p{N}]/u.test(s);
}

export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
