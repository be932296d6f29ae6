import { DocumentParser, DocumentType, ParsedDocument, normalizeNewlines } from './parser';
import { decodeStrict } from './text-decoding';

/** Plain text and markdown: returned as they are (UTF-8, BOM dropped, line endings LF). */
export class TextParser implements DocumentParser {
  readonly types: readonly DocumentType[] = ['txt', 'md'];

  async parse(bytes: Uint8Array): Promise<ParsedDocument> {
    const content = normalizeNewlines(decodeStrict(bytes));
    return { pages: [{ markdown: content, text: content }] };
  }
}
