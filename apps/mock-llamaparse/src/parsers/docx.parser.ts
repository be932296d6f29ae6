import * as mammoth from 'mammoth';
import { htmlToMarkdown } from './html.parser';
import { DocumentParseError, DocumentParser, DocumentType, ParsedDocument, describeError, tidyText } from './parser';
import { DEFAULT_MAX_UNZIPPED_BYTES, assertZipWithinLimit } from './zip-limits';

/** Images carry no text: they become `<img src="">`, which the markdown conversion drops (no base64 work). */
const dropImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));

/**
 * DOCX with mammoth: HTML then node-html-markdown for markdown, mammoth's raw text for text. mammoth inflates the
 * whole container in memory, so a ZIP whose entries inflate to more than `maxUnzippedBytes` (a zip bomb: a few
 * hundred KB that inflate to hundreds of MB) is refused first (DOCX_TOO_LARGE) without being inflated.
 */
export class DocxParser implements DocumentParser {
  readonly types: readonly DocumentType[] = ['docx'];

  constructor(private readonly maxUnzippedBytes = DEFAULT_MAX_UNZIPPED_BYTES) {}

  async parse(bytes: Uint8Array): Promise<ParsedDocument> {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await assertZipWithinLimit(buffer, this.maxUnzippedBytes);
    try {
      const html = await mammoth.convertToHtml({ buffer }, { convertImage: dropImages, externalFileAccess: false });
      const raw = await mammoth.extractRawText({ buffer });
      return { pages: [{ markdown: htmlToMarkdown(html.value), text: tidyText(raw.value) }] };
    } catch (e) {
      throw new DocumentParseError(`Could not read DOCX file: ${describeError(e)}`, 'DOCX_PARSE_ERROR');
    }
  }
}
