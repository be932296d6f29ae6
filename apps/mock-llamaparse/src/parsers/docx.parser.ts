import * as mammoth from 'mammoth';
import { htmlToMarkdown } from './html.parser';
import { DocumentParseError, DocumentParser, DocumentType, ParsedDocument, describeError, tidyText } from './parser';

/** Images carry no text: they become `<img src="">`, which the markdown conversion drops (no base64 work). */
const dropImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));

/** DOCX with mammoth: HTML then node-html-markdown for markdown, mammoth's raw text for text. */
export class DocxParser implements DocumentParser {
  readonly types: readonly DocumentType[] = ['docx'];

  async parse(bytes: Uint8Array): Promise<ParsedDocument> {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      const html = await mammoth.convertToHtml({ buffer }, { convertImage: dropImages, externalFileAccess: false });
      const raw = await mammoth.extractRawText({ buffer });
      return { pages: [{ markdown: htmlToMarkdown(html.value), text: tidyText(raw.value) }] };
    } catch (e) {
      throw new DocumentParseError(`Could not read DOCX file: ${describeError(e)}`, 'DOCX_PARSE_ERROR');
    }
  }
}
