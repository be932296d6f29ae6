import { DocumentParseError, DocumentParser, DocumentType, ParsedDocument, describeError, tidyText } from './parser';
import { loadUnpdf } from './unpdf.loader';

/** PDF text, page by page, with unpdf (PDF.js). Each page is its own markdown and text; no OCR. */
export class PdfParser implements DocumentParser {
  readonly types: readonly DocumentType[] = ['pdf'];

  async parse(bytes: Uint8Array): Promise<ParsedDocument> {
    const { extractText, getDocumentProxy } = await loadUnpdf();
    let pages: string[];
    try {
      // PDF.js may detach the buffer it is given: hand it a copy. Verbosity 0 keeps its warnings off stdout.
      const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
      try {
        pages = (await extractText(pdf, { mergePages: false })).text;
      } finally {
        await pdf.destroy();
      }
    } catch (e) {
      throw new DocumentParseError(`Could not read PDF file: ${describeError(e)}`, 'PDF_PARSE_ERROR');
    }
    if (pages.length === 0) throw new DocumentParseError('PDF file has no pages', 'PDF_PARSE_ERROR');
    return {
      pages: pages.map((page) => {
        const text = tidyText(page.replace(/[^\S\n]+/g, ' '));
        return { markdown: text, text };
      }),
    };
  }
}
