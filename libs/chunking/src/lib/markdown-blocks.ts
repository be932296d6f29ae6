/** Kinds of top-level markdown blocks the chunker distinguishes. */
export type BlockKind = 'heading' | 'paragraph' | 'code' | 'table' | 'list_item' | 'quote' | 'break';

/** A block as a character range `[start, end)` of the scanned text, ending at the end of its last line. */
export interface MarkdownBlock {
  kind: BlockKind;
  start: number;
  end: number;
  /** Heading level 1..6; 0 for other blocks. */
  level: number;
  /** Heading text without the `#` markers; '' for other blocks. */
  title: string;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const ATX_CLOSING = /(?:^|[ \t]+)#+[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const TABLE_DELIMITER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const LIST_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;
const BLOCK_QUOTE = /^ {0,3}>/;
const BLANK = /^[ \t]*$/;

/**
 * Splits markdown into blocks with a line scanner (CommonMark/GFM block structure, simplified):
 * ATX and setext headings, fenced code blocks (``` or ~~~, unclosed ones run to the end), GFM tables
 * (a `|` header line followed by a delimiter row, then every following line containing `|`), list items
 * (each item, nested ones too, is its own block with its lazy continuation lines), block quotes, thematic
 * breaks, and paragraphs (blank-line separated). Every non-blank line belongs to exactly one block, and blocks
 * are returned in document order, so the blocks cover all non-whitespace text.
 */
export function scanBlocks(text: string): MarkdownBlock[] {
  const lineStarts: number[] = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineEnd = (k: number): number => (k + 1 < lineStarts.length ? lineStarts[k + 1] - 1 : text.length);
  const lineAt = (k: number): string => text.slice(lineStarts[k], lineEnd(k));

  const blocks: MarkdownBlock[] = [];
  const open = (kind: BlockKind, k: number): MarkdownBlock => {
    const b: MarkdownBlock = { kind, start: lineStarts[k], end: lineEnd(k), level: 0, title: '' };
    blocks.push(b);
    return b;
  };

  let current: MarkdownBlock | null = null; // block that the next line may continue
  let fence: { marker: string; block: MarkdownBlock } | null = null;

  for (let k = 0; k < lineStarts.length; k++) {
    const line = lineAt(k);

    if (fence) {
      fence.block.end = lineEnd(k);
      const close = FENCE_CLOSE.exec(line);
      if (close && close[1][0] === fence.marker[0] && close[1].length >= fence.marker.length) fence = null;
      continue;
    }
    if (BLANK.test(line)) {
      current = null;
      continue;
    }

    const fenceOpen = FENCE_OPEN.exec(line);
    if (fenceOpen && !(fenceOpen[1][0] === '`' && fenceOpen[2].includes('`'))) {
      current = null;
      fence = { marker: fenceOpen[1], block: open('code', k) };
      continue;
    }

    const atx = ATX_HEADING.exec(line);
    if (atx) {
      current = null;
      const b = open('heading', k);
      b.level = atx[1].length;
      b.title = (atx[2] ?? '').replace(ATX_CLOSING, '').trim();
      continue;
    }

    if (current?.kind === 'paragraph' && SETEXT_UNDERLINE.test(line)) {
      current.kind = 'heading';
      current.level = line.trim()[0] === '=' ? 1 : 2;
      current.title = text.slice(current.start, current.end).replace(/\s+/g, ' ').trim();
      current.end = lineEnd(k);
      current = null;
      continue;
    }

    if (THEMATIC_BREAK.test(line)) {
      current = null;
      open('break', k);
      continue;
    }

    if (current?.kind === 'table' && line.includes('|')) {
      current.end = lineEnd(k);
      continue;
    }
    if (line.includes('|') && k + 1 < lineStarts.length) {
      const delimiter = lineAt(k + 1);
      if (delimiter.includes('|') && TABLE_DELIMITER.test(delimiter)) {
        current = open('table', k);
        continue;
      }
    }

    if (BLOCK_QUOTE.test(line)) {
      if (current?.kind === 'quote') current.end = lineEnd(k);
      else current = open('quote', k);
      continue;
    }

    if (LIST_ITEM.test(line)) {
      current = open('list_item', k);
      continue;
    }

    if (current && current.kind !== 'table') {
      current.end = lineEnd(k); // paragraph line or lazy continuation of a list item / quote
      continue;
    }
    current = open('paragraph', k);
  }
  return blocks;
}
