import {
  DocumentParseError,
  DocumentParser,
  DocumentType,
  ParseOptions,
  ParsedDocument,
  describeError,
  hasReadableText,
  tidyText,
} from './parser';
import { OcrRecognizer, OcrTimeoutError } from './ocr/ocr.engine';
import { PdfJsImage, toPgm } from './ocr/page-image';
import { loadUnpdf } from './unpdf.loader';
import { layoutMarkdown } from './pdf.layout';

/** OCR of image-only pages; without it (or with `ocr: false`) such pages come out empty. */
export interface PdfOcrSettings {
  recognizer: OcrRecognizer;
  /** Whether OCR runs when the upload does not say. */
  byDefault: boolean;
  /** Most pages of one document that may need OCR; more fail the parse (OCR_PAGE_LIMIT) before any OCR runs. */
  maxPages: number;
  /** Time budget of one document's OCR (ms); over it the parse fails (OCR_TIMEOUT). */
  timeoutMs: number;
}

type PdfDocument = Awaited<ReturnType<Awaited<ReturnType<typeof loadUnpdf>>['getDocumentProxy']>>;
type PdfPage = Awaited<ReturnType<PdfDocument['getPage']>>;
interface Ops {
  paintImageXObject: number;
  paintInlineImageXObject: number;
  paintImageXObjectRepeat: number;
}

/**
 * PDF text, page by page, with unpdf (PDF.js). Each page is its own markdown and text: the text as PDF.js reads it,
 * the markdown laid out from the text positions (headings, lists, tables, paragraphs: see `pdf.layout.ts`). A page with no readable
 * text (no letter or digit in its text layer) whose content paints images is read by OCR when OCR is on: the images
 * PDF.js decoded (`paintImageXObject`, inline images) are handed to Tesseract as grayscale PGM, their text joined
 * in drawing order.
 */
export class PdfParser implements DocumentParser {
  readonly types: readonly DocumentType[] = ['pdf'];

  constructor(private readonly ocr?: PdfOcrSettings) {}

  async parse(bytes: Uint8Array, _type?: DocumentType, options: ParseOptions = {}): Promise<ParsedDocument> {
    const { getDocumentProxy, getResolvedPDFJS } = await loadUnpdf();
    let pdf: PdfDocument;
    let pages: string[];
    let markdown: string[];
    try {
      // PDF.js may detach the buffer it is given: hand it a copy. Verbosity 0 keeps its warnings off stdout.
      pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
    } catch (e) {
      throw new DocumentParseError(`Could not read PDF file: ${describeError(e)}`, 'PDF_PARSE_ERROR');
    }
    try {
      try {
        const contents: TextContent[] = [];
        for (let n = 1; n <= pdf.numPages; n++) {
          const page = await pdf.getPage(n);
          contents.push((await page.getTextContent()) as TextContent);
          page.cleanup();
        }
        // The text as unpdf's extractText gives it (items joined, a newline where PDF.js saw a line end).
        pages = contents.map((c) =>
          tidyText(plainText(c.items).replace(/[^\S\n]+/g, ' ')),
        );
        markdown = layoutMarkdown(contents.map((c) => c.items)).map((md) => tidyText(md));
      } catch (e) {
        throw new DocumentParseError(`Could not read PDF file: ${describeError(e)}`, 'PDF_PARSE_ERROR');
      }
      if (pages.length === 0) throw new DocumentParseError('PDF file has no pages', 'PDF_PARSE_ERROR');
      let ocrPages = 0;
      const ocr = this.ocr;
      if (ocr && (options.ocr ?? ocr.byDefault) && pages.some((p) => !hasReadableText(p))) {
        const { OPS } = (await getResolvedPDFJS()) as unknown as { OPS: Ops };
        ocrPages = await this.readByOcr(pdf, pages, OPS, ocr, markdown);
      }
      return { pages: pages.map((text, i) => ({ markdown: markdown[i], text })), ocrPages };
    } finally {
      await pdf.destroy();
    }
  }

  /** OCRs the pages without readable text that paint images; replaces their text in `pages`; returns how many. */
  private async readByOcr(pdf: PdfDocument, pages: string[], OPS: Ops, ocr: PdfOcrSettings, markdown: string[]): Promise<number> {
    const candidates: number[] = [];
    for (let i = 0; i < pages.length; i++) {
      if (hasReadableText(pages[i])) continue;
      const page = await this.page(pdf, i + 1);
      const { fnArray } = await page.getOperatorList();
      if (fnArray.some((op) => isImageOp(op, OPS))) candidates.push(i);
      page.cleanup();
    }
    if (candidates.length > ocr.maxPages)
      throw new DocumentParseError(
        `OCR page limit exceeded: ${candidates.length} pages have no text layer and need OCR, at most ${ocr.maxPages} are read (MOCK_LLAMAPARSE_OCR_MAX_PAGES)`,
        'OCR_PAGE_LIMIT',
      );
    const deadline = Date.now() + ocr.timeoutMs;
    let done = 0;
    for (const i of candidates) {
      const page = await this.page(pdf, i + 1);
      const texts: string[] = [];
      try {
        for (const image of await pageImages(page, OPS, deadline, ocr.timeoutMs)) {
          const pgm = toPgm(image);
          if (!pgm) continue;
          texts.push(await ocr.recognizer.recognize(pgm, deadline, ocr.timeoutMs));
        }
      } catch (e) {
        if (e instanceof OcrTimeoutError) throw new DocumentParseError(e.message, 'OCR_TIMEOUT');
        if (e instanceof DocumentParseError) throw e;
        throw new DocumentParseError(`OCR failed on page ${i + 1}: ${describeError(e)}`, 'OCR_ERROR');
      } finally {
        page.cleanup();
      }
      pages[i] = tidyText(texts.join('\n\n').replace(/[^\S\n]+/g, ' '));
      markdown[i] = pages[i];
      done++;
    }
    return done;
  }

  private async page(pdf: PdfDocument, n: number): Promise<PdfPage> {
    try {
      return await pdf.getPage(n);
    } catch (e) {
      throw new DocumentParseError(`Could not read PDF page ${n}: ${describeError(e)}`, 'PDF_PARSE_ERROR');
    }
  }
}

interface TextContent {
  items: unknown[];
}

/** The page's text as unpdf's `extractText` joins it: each item's `str`, a newline after those with `hasEOL`. */
function plainText(items: readonly unknown[]): string {
  return items
    .filter((item): item is { str: string; hasEOL?: boolean } => typeof (item as { str?: unknown }).str === 'string')
    .map((item) => item.str + (item.hasEOL ? '\n' : ''))
    .join('');
}

function isImageOp(op: number, OPS: Ops): boolean {
  return op === OPS.paintImageXObject || op === OPS.paintInlineImageXObject || op === OPS.paintImageXObjectRepeat;
}

/** The decoded images a page paints, in drawing order (an image painted twice is read once). */
async function pageImages(page: PdfPage, OPS: Ops, deadline: number, budgetMs: number): Promise<PdfJsImage[]> {
  const { fnArray, argsArray } = await page.getOperatorList();
  const images: PdfJsImage[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < fnArray.length; i++) {
    const op = fnArray[i];
    if (!isImageOp(op, OPS)) continue;
    const arg = (argsArray[i] as unknown[])[0];
    if (op === OPS.paintInlineImageXObject) {
      if (arg && typeof arg === 'object') images.push(arg as PdfJsImage);
      continue;
    }
    if (typeof arg !== 'string' || seen.has(arg)) continue;
    seen.add(arg);
    const objs = arg.startsWith('g_') ? page.commonObjs : page.objs;
    const image = await withDeadline(
      new Promise<unknown>((resolve) => objs.get(arg, resolve)),
      deadline,
      budgetMs,
    );
    if (image && typeof image === 'object') images.push(image as PdfJsImage);
  }
  return images;
}

async function withDeadline<T>(work: Promise<T>, deadline: number, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OcrTimeoutError(budgetMs)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
