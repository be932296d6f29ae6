import { NodeHtmlMarkdown, TranslatorConfigFactory, TranslatorConfigObject } from 'node-html-markdown';
import { DocumentParseError, DocumentParser, DocumentType, ParsedDocument, describeError, tidyText } from './parser';
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

/** Block elements inside a table cell: a space around each, so two paragraphs of a cell do not run together. */
const CELL_BLOCKS = 'p,div,li,h1,h2,h3,h4,h5,h6,blockquote,pre,dt,dd';

/**
 * Tables come out as pipe tables (node-html-markdown's own, first row the header). Two fixes to its cell
 * translator: block elements in a cell (mammoth writes every DOCX cell as `<p>`s) are separated by a space
 * instead of running together, and every `|` of a cell is escaped (upstream escapes the first one only).
 */
function withTableFixes(instance: NodeHtmlMarkdown): NodeHtmlMarkdown {
  const cell: TranslatorConfigFactory = ({ visitor }) => ({
    surroundingNewlines: false,
    childTranslators: visitor.instance.tableCellTranslators,
    prefix: ' ',
    postfix: ' |',
    postprocess: ({ content }) =>
      content
        .replace(/\r?\n+/g, ' ')
        .replace(/[^\S\n]{2,}/g, ' ')
        .replace(/(?<!\\)\|/g, '\\|')
        .trim(),
  });
  instance.tableTranslators.set('th,td', cell);
  instance.tableRowTranslators.set('th,td', cell);
  instance.tableCellTranslators.set(CELL_BLOCKS, { surroundingNewlines: false, prefix: ' ', postfix: ' ' });
  instance.tableCellTranslators.set('br', { content: ' ', recurse: false });
  return instance;
}

const toMarkdown = withTableFixes(new NodeHtmlMarkdown({ ignore: DROPPED_ELEMENTS, maxConsecutiveNewlines: 2 }));

const toPlainText = withTableFixes(
  new NodeHtmlMarkdown(
    {
      ignore: DROPPED_ELEMENTS,
      maxConsecutiveNewlines: 2,
      globalEscape: NO_ESCAPE,
      lineStartEscape: NO_ESCAPE,
      codeFence: '',
    },
    plainTextTranslators,
  ),
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

/** Stands for an empty table cell during the conversion (a private-use character: removed from the input first). */
const EMPTY_CELL = '\uE000';

/**
 * node-html-markdown drops a table cell with no text, which shifts the cells after it one column left: each empty
 * cell (nothing but whitespace, empty paragraphs or line breaks) gets {@link EMPTY_CELL}, a space once converted.
 */
function keepEmptyCells(html: string): string {
  return html
    .replace(/\uE000/g, '')
    .replace(/(<t[dh]\b[^>]*>)((?:\s|<\/?(?:p|br|span|div)\b[^>]*>)*)(?=<\/t[dh]>)/gi, `$1$2${EMPTY_CELL}`);
}

/** Deepest element nesting kept when a document is too deep to convert (Chromium's HTML parser caps it at 512 too). */
export const MAX_HTML_DEPTH = 512;

const VOID_ELEMENTS = new Set(
  ['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr'],
);

/**
 * Drops the tags (not the content) of elements nested deeper than `maxDepth`, so the tree is at most that deep:
 * node-html-markdown converts recursively and overflows the stack at a few thousand levels. A scan of the tags,
 * good enough for the fallback it is (see {@link convert}); a closing tag closes its nearest open namesake.
 */
export function flattenDeepNesting(html: string, maxDepth = MAX_HTML_DEPTH): string {
  const open: { name: string; kept: boolean }[] = [];
  // How many elements of each name are open: a closing tag with none open costs nothing (linear time overall).
  const openCount = new Map<string, number>();
  let kept = 0;
  return html.replace(/<(\/?)([a-zA-Z][\w:-]*)\b[^>]*>/g, (tag, slash: string, rawName: string) => {
    const name = rawName.toLowerCase();
    if (!slash) {
      if (VOID_ELEMENTS.has(name) || tag.endsWith('/>')) return tag;
      const keep = kept < maxDepth;
      open.push({ name, kept: keep });
      openCount.set(name, (openCount.get(name) ?? 0) + 1);
      if (keep) kept++;
      return keep ? tag : '';
    }
    if (!openCount.get(name)) return tag;
    // This element and the ones still open inside it are closed; the tag stays when the element's open tag did.
    let keepClose = false;
    for (;;) {
      const e = open.pop() as { name: string; kept: boolean };
      openCount.set(e.name, (openCount.get(e.name) ?? 1) - 1);
      if (e.kept) kept--;
      if (e.name === name) {
        keepClose = e.kept;
        break;
      }
    }
    return keepClose ? tag : '';
  });
}

/**
 * Converts with `translator`; a document nested too deep to convert (stack overflow) is flattened to
 * {@link MAX_HTML_DEPTH} levels and converted again; if that overflows too, a parse error that says so.
 */
function convert(translator: NodeHtmlMarkdown, html: string): string {
  const cleaned = keepEmptyCells(dropHiddenMarkup(html));
  try {
    return tidyText(translator.translate(cleaned).replace(/\uE000/g, ' '));
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  try {
    return tidyText(translator.translate(flattenDeepNesting(cleaned)).replace(/\uE000/g, ' '));
  } catch (e) {
    throw new DocumentParseError(`HTML nested too deeply to convert (flattened to ${MAX_HTML_DEPTH} levels): ${describeError(e)}`, 'HTML_TOO_DEEP');
  }
}

/** HTML to markdown with node-html-markdown; scripts, styles, templates and comments leave no text behind. */
export function htmlToMarkdown(html: string): string {
  return convert(toMarkdown, html);
}

/** HTML to plain text (no markdown syntax), same dropped elements as {@link htmlToMarkdown}. */
export function htmlToPlainText(html: string): string {
  return convert(toPlainText, html);
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
