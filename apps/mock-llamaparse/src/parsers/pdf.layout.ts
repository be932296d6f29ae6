/**
 * Layout-aware markdown of one PDF page from the positions of its text (PDF.js `getTextContent()` items): headings
 * by font size, list items by their marker, simple tables by aligned columns, paragraphs by vertical gaps.
 *
 * Heuristics, in page units (points) scaled by the font size:
 * - A line is the items whose baselines are within half a font size; a line's size is the size most of its
 *   characters have. Items of a line further apart than 1.5 x the size are separate cells (columns).
 * - Body size: the size most characters of the page have. A line at least 1.2 x the body size is a heading; the
 *   distinct heading sizes of the document, largest first, give `#`, `##`, ... (at most `######`).
 * - A line starting with `•`, `-`, `*` (and a few other bullets) is a `- ` item; `1.`/`1)` a `1. ` item;
 *   `a)`/`(a)`/`(1)` a `- ` item that keeps its label. A following line indented past the marker with no
 *   paragraph gap continues the item.
 * - Two or more consecutive lines with the same number (>= 2) of cells, each cell aligned (left, right or centre)
 *   with the cell of the first line, are a table, the first line its header. Long cells (two-column prose) are not.
 * - Other lines are paragraphs: a baseline gap over 1.3 x the page's usual line pitch (or 2 x the size) starts a
 *   new one. The lines of a paragraph are kept on their own lines (a markdown soft break: they render joined).
 */

/** The part of a PDF.js text item this needs (`TextMarkedContent` items have no `str` and are skipped). */
export interface PdfTextItem {
  str: string;
  /** [a, b, c, d, e, f]: e/f the origin of the text, hypot(c, d) its font size. */
  transform: readonly number[];
  width: number;
  hasEOL?: boolean;
}

interface Piece {
  x: number;
  y: number;
  end: number;
  size: number;
  str: string;
}

interface Cell {
  x: number;
  end: number;
  text: string;
}

export interface LayoutLine {
  y: number;
  size: number;
  x: number;
  cells: Cell[];
  text: string;
}

type Block =
  | { kind: 'heading'; size: number; lines: LayoutLine[] }
  | { kind: 'list'; marker: string; lines: LayoutLine[]; textX: number }
  | { kind: 'table'; rows: string[][] }
  | { kind: 'paragraph'; lines: LayoutLine[] };

/** A page's blocks, before heading levels (which depend on the whole document) are known. */
export interface PageLayout {
  blocks: Block[];
}

const HEADING_RATIO = 1.2;
const CELL_GAP = 1.5;
const MAX_TABLE_CELL_CHARS = 40;
const BULLET = /^([\u2022\u2023\u2043\u25aa\u25ab\u25cf\u25e6\u00b7\u2013\-*])\s+(\S.*)$/u;
const NUMBERED = /^(\d{1,3})[.)]\s+(\S.*)$/;
const LABELLED = /^(\(?[a-z]\)|\(\d{1,3}\))\s+(\S.*)$/;

function isPositioned(item: unknown): item is PdfTextItem {
  const i = item as Partial<PdfTextItem>;
  return typeof i?.str === 'string' && Array.isArray(i.transform) && i.transform.length >= 6;
}

function round(n: number): number {
  return Math.round(n * 2) / 2;
}

/** The value with the largest weight (ties: the smaller value, so the result does not depend on order). */
function mode(weights: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestWeight = -1;
  for (const [value, weight] of weights)
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && value < best)) {
      best = value;
      bestWeight = weight;
    }
  return best;
}

/** Groups the items into lines (top to bottom) and each line into cells (left to right). */
export function layoutLines(items: readonly unknown[]): LayoutLine[] {
  const pieces: Piece[] = [];
  for (const item of items) {
    if (!isPositioned(item) || item.str.trim() === '') continue;
    const [a, b, c, d, x, y] = item.transform;
    const size = Math.hypot(c, d) || Math.hypot(a, b) || 1;
    if (![x, y, size].every(Number.isFinite)) continue;
    pieces.push({ x, y, end: x + (Number.isFinite(item.width) ? item.width : 0), size, str: item.str });
  }
  // Stable: items on one baseline keep their content-stream order until sorted by x.
  const byY = pieces.map((p, i) => ({ p, i })).sort((u, v) => v.p.y - u.p.y || u.i - v.i).map((e) => e.p);
  const groups: Piece[][] = [];
  for (const p of byY) {
    const last = groups[groups.length - 1];
    if (last && Math.abs(last[0].y - p.y) <= Math.max(last[0].size, p.size) * 0.5) last.push(p);
    else groups.push([p]);
  }
  return groups.map(toLine);
}

function toLine(pieces: Piece[]): LayoutLine {
  const sorted = [...pieces].sort((u, v) => u.x - v.x);
  const sizes = new Map<number, number>();
  for (const p of sorted) sizes.set(round(p.size), (sizes.get(round(p.size)) ?? 0) + p.str.trim().length);
  const size = mode(sizes) ?? sorted[0].size;
  const cells: Cell[] = [];
  let prev: Piece | undefined;
  for (const p of sorted) {
    const gap = prev ? p.x - prev.end : 0;
    const cell = cells[cells.length - 1];
    if (!prev || !cell || gap > size * CELL_GAP) {
      cells.push({ x: p.x, end: p.end, text: p.str.trim() });
    } else {
      const space = gap > size * 0.1 && !/\s$/.test(cell.text) && !/^\s/.test(p.str) ? ' ' : '';
      cell.text = (cell.text + space + p.str).replace(/\s+/g, ' ').trim();
      cell.end = Math.max(cell.end, p.end);
    }
    prev = p;
  }
  return { y: sorted[0].y, size, x: cells[0].x, cells, text: cells.map((c) => c.text).join(' ') };
}

function aligned(a: Cell, b: Cell, tolerance: number): boolean {
  return (
    Math.abs(a.x - b.x) <= tolerance ||
    Math.abs(a.end - b.end) <= tolerance ||
    Math.abs((a.x + a.end) / 2 - (b.x + b.end) / 2) <= tolerance
  );
}

/** How many lines from `start` form a table with `lines[start]` as header (0 or 1: none). */
function tableRun(lines: readonly LayoutLine[], start: number): number {
  const head = lines[start];
  if (head.cells.length < 2) return 0;
  let n = 1;
  while (start + n < lines.length) {
    const row = lines[start + n];
    const above = lines[start + n - 1];
    if (row.cells.length !== head.cells.length) break;
    if (above.y - row.y > Math.max(above.size, row.size) * 3) break;
    const tolerance = Math.max(row.size, head.size) * 0.75;
    if (!row.cells.every((c, i) => aligned(c, head.cells[i], tolerance))) break;
    n++;
  }
  if (n < 2) return 0;
  const cells = lines.slice(start, start + n).flatMap((l) => l.cells);
  const average = cells.reduce((sum, c) => sum + c.text.length, 0) / cells.length;
  return average <= MAX_TABLE_CELL_CHARS ? n : 0;
}

function listMarker(text: string): { marker: string; rest: string } | undefined {
  let m = BULLET.exec(text);
  if (m) return { marker: '-', rest: m[2] };
  m = NUMBERED.exec(text);
  if (m) return { marker: `${Number(m[1])}.`, rest: m[2] };
  m = LABELLED.exec(text);
  if (m) return { marker: '-', rest: `${m[1]} ${m[2]}` };
  return undefined;
}

/** The page's usual distance between consecutive baselines (median of the gaps under 2.5 x the size). */
function linePitch(lines: readonly LayoutLine[]): number | undefined {
  const gaps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const gap = lines[i - 1].y - lines[i].y;
    if (gap > 0 && gap < Math.max(lines[i].size, lines[i - 1].size) * 2.5) gaps.push(gap);
  }
  if (gaps.length === 0) return undefined;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor((gaps.length - 1) / 2)];
}

/** Body size: the size most of the characters have. */
function bodySize(lines: readonly LayoutLine[]): number {
  const sizes = new Map<number, number>();
  for (const l of lines) sizes.set(round(l.size), (sizes.get(round(l.size)) ?? 0) + l.text.length);
  return mode(sizes) ?? 0;
}

/** Splits a page's lines into headings (lines at least 1.2 x `body`), list items, tables and paragraphs. */
export function pageLayout(lines: readonly LayoutLine[], body: number): PageLayout {
  const pitch = linePitch(lines);
  const blocks: Block[] = [];
  const isHeading = (l: LayoutLine) => body > 0 && l.size >= body * HEADING_RATIO && /[\p{L}\p{N}]/u.test(l.text);
  const newParagraph = (above: LayoutLine, l: LayoutLine) => {
    const gap = above.y - l.y;
    const limit = Math.min((pitch ?? l.size * 1.2) * 1.3, Math.max(above.size, l.size) * 2);
    return gap > limit || Math.abs(above.size - l.size) > Math.min(above.size, l.size) * 0.1;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const last = blocks[blocks.length - 1];
    const above = lines[i - 1];
    if (isHeading(line)) {
      if (last?.kind === 'heading' && round(last.size) === round(line.size) && !newParagraph(above, line))
        last.lines.push(line);
      else blocks.push({ kind: 'heading', size: line.size, lines: [line] });
      continue;
    }
    const rows = tableRun(lines, i);
    if (rows > 0) {
      blocks.push({ kind: 'table', rows: lines.slice(i, i + rows).map((l) => l.cells.map((c) => c.text)) });
      i += rows - 1;
      continue;
    }
    const item = listMarker(line.text);
    if (item) {
      // Continuation lines are indented past the marker.
      blocks.push({ kind: 'list', marker: item.marker, lines: [{ ...line, text: item.rest }], textX: line.x + line.size });
      continue;
    }
    if (last?.kind === 'list' && line.x >= last.textX - line.size * 0.5 && !newParagraph(above, line)) {
      last.lines.push(line);
      continue;
    }
    if (last?.kind === 'paragraph' && !newParagraph(above, line)) last.lines.push(line);
    else blocks.push({ kind: 'paragraph', lines: [line] });
  }
  return { blocks };
}

function tableCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

/**
 * The markdown of each page from the PDF.js text items of each page. The body size and the heading levels
 * (largest size `#`) are the document's, so a sparse page (a title and a line) ranks its title like the others.
 * Pages without positioned text give ''.
 */
export function layoutMarkdown(itemsByPage: readonly (readonly unknown[])[]): string[] {
  const linesByPage = itemsByPage.map(layoutLines);
  const body = bodySize(linesByPage.flat());
  return markdownOf(linesByPage.map((lines) => pageLayout(lines, body)));
}

function markdownOf(pages: readonly PageLayout[]): string[] {
  const headingSizes = [
    ...new Set(pages.flatMap((p) => p.blocks.flatMap((b) => (b.kind === 'heading' ? [round(b.size)] : [])))),
  ].sort((a, b) => b - a);
  const level = (size: number) => Math.min(headingSizes.indexOf(round(size)) + 1, 6);
  return pages.map((page) => {
    const out: string[] = [];
    for (let i = 0; i < page.blocks.length; i++) {
      const block = page.blocks[i];
      switch (block.kind) {
        case 'heading':
          out.push(`${'#'.repeat(level(block.size))} ${block.lines.map((l) => l.text).join(' ')}`);
          break;
        case 'paragraph':
          out.push(block.lines.map((l) => l.text).join('\n'));
          break;
        case 'table': {
          const [head, ...body] = block.rows;
          const row = (cells: string[]) => `| ${cells.map(tableCell).join(' | ')} |`;
          out.push([row(head), row(head.map(() => '---')), ...body.map(row)].join('\n'));
          break;
        }
        case 'list': {
          // Consecutive items of one kind (bullets, numbers) are one list (no blank line between them).
          const items = [block];
          const ordered = (b: Block) => b.kind === 'list' && b.marker !== '-';
          for (let next = page.blocks[i + 1]; next?.kind === 'list' && ordered(next) === ordered(block); next = page.blocks[i + 1]) {
            items.push(next);
            i++;
          }
          out.push(items.map((it) => `${it.marker} ${it.lines.map((l) => l.text).join(' ')}`).join('\n'));
          break;
        }
      }
    }
    return out.join('\n\n');
  });
}
