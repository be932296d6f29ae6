import { NodeHtmlMarkdown, TranslatorConfigObject } from 'node-html-markdown';
import { DocumentParser, DocumentType, ParsedDocument, tidyText } from './parser';
import { decodeStrict } from './text-decoding';

/** Elements whose content is never document text (added to node-html-markdown's own ignore list, HEAD included). */
const DROPPED_ELEMENTS = ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'IFRAME', 'OBJECT', 'SVG', 'CANVAS'];

/** Inline markup that plain text leaves out: only the content of these elements is kept. */
const PLAIN_INLINE = ['strong,b', 'em,i', 'del,s,strike', 'a', 'code'];

const plainTextTranslators: TranslatorConfigObject = {
  ...Object.fromEntries(PLAIN_INLINE.map((tags) => [tags, { noEscape: true }])),
  'h1,h2,h3,h4,h5,h6': { surroundingNewlines: 2 },
  img: ({ node }) => ({ content: node.getAttribute('alt') ?? '', recurse: false }),
  blockquote: { surroundingNewlines: 2 },
  hr: { content: '', recurse: false, surroundingNewlines: 2 },
  br: { content: '\n', recurse: false },
};

const NO_ESCAPE: readonly [RegExp, string] = [/(?!)/g, ''];

const toMarkdown = new NodeHtmlMarkdown({ ignore: DROPPED_ELEMENTS, maxConsecutiveNewlines: 2 });

const toPlainText = new NodeHtmlMarkdown(
  {
    ignore: DROPPED_ELEMENTS,
    maxConsecutiveNewlines: 2,
    globalEscape: NO_ESCAPE,
    lineStartEscape: NO_ESCAPE,
    codeFence: '',
  },
  plainTextTranslators,
);

/**
 * What the HTML tokenizer of a browser hides but node-html-parser would show as text: a comment left open
 * (runs to the end of the document), CDATA sections and processing instructions (bogus comments) in HTML.
 */
function dropHiddenMarkup(html: string): string {
  return html
    .replace(/<!--(?![\s\S]*-->)[\s\S]*$/, '')
    .replace(/<!\[CDATA\[[\s\S]*?(?:\]\]>|$)/g, '')
    .replace(/<\?[^>]*>?/g, '');
}

/** HTML to markdown with node-html-markdown; scripts, styles, templates and comments leave no text behind. */
export function htmlToMarkdown(html: string): string {
  return tidyText(toMarkdown.translate(dropHiddenMarkup(html)));
}

/** HTML to plain text (no markdown syntax), same dropped elements as {@link htmlToMarkdown}. */
export function htmlToPlainText(html: string): string {
  return tidyText(toPlainText.translate(dropHiddenMarkup(html)));
}

/** The charset a document declares in its first 1024 bytes (`<meta charset>` or http-equiv), if any. */
export function sniffHtmlCharset(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  const m = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  const label = m?.[1]?.toLowerCase();
  // As browsers do: a document readable as ASCII that claims UTF-16 is UTF-8.
  return label?.startsWith('utf-16') ? 'utf-8' : label;
}

export class HtmlParser implements DocumentParser {
  readonly types: readonly DocumentType[] = ['html'];

  async parse(bytes: Uint8Array): Promise<ParsedDocument> {
    const html = decodeStrict(bytes, sniffHtmlCharset(bytes));
    return { pages: [{ markdown: htmlToMarkdown(html), text: htmlToPlainText(html) }] };
  }
}
