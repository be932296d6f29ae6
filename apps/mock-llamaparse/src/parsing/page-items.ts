/**
 * Typed items of a page, read back from the page's markdown: headings, pipe tables (with their rows) and text
 * blocks (paragraphs, lists, code). The mock has no layout model: this is what its parsers' markdown shows.
 */

export interface HeadingItem {
  type: 'heading';
  level: number;
  value: string;
  md: string;
}

export interface TableItem {
  type: 'table';
  rows: string[][];
  md: string;
  csv: string;
  html: string;
}

export interface TextItem {
  type: 'text';
  value: string;
  md: string;
}

export type PageItem = HeadingItem | TableItem | TextItem;

/** Page size reported for every page (US Letter, in points): the mock does not keep the real one. */
export const PAGE_WIDTH = 612;
export const PAGE_HEIGHT = 792;

const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;
const FENCE = /^ {0,3}(```|~~~)/;

/** Markdown inline syntax removed: links and images keep their text, emphasis and code marks go. */
export function stripInlineMarkdown(md: string): string {
  return md
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(\*|_)(.+?)\1/g, '$2')
    .replace(/~~(.+?)~~/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|>~])/g, '$1');
}

function splitRow(line: string): string[] {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => stripInlineMarkdown(cell.trim().replace(/\\\|/g, '|')));
}

const csvCell = (cell: string): string => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
const htmlCell = (cell: string): string => cell.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function tableItem(lines: string[]): TableItem {
  const rows = [splitRow(lines[0]), ...lines.slice(2).map(splitRow)];
  const [head, ...body] = rows;
  const html =
    `<table><thead><tr>${head.map((c) => `<th>${htmlCell(c)}</th>`).join('')}</tr></thead><tbody>` +
    body.map((r) => `<tr>${r.map((c) => `<td>${htmlCell(c)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>';
  return { type: 'table', rows, md: lines.join('\n'), csv: rows.map((r) => r.map(csvCell).join(',')).join('\n'), html };
}

/** The items of one page of markdown, in reading order. */
export function markdownToItems(markdown: string): PageItem[] {
  const lines = markdown.split('\n');
  const items: PageItem[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length === 0) return;
    const md = paragraph.join('\n');
    items.push({ type: 'text', md, value: stripInlineMarkdown(md) });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      // A code block is one text block, blank lines included, up to its closing fence.
      flush();
      const fence = (FENCE.exec(line) as RegExpExecArray)[1];
      const block = [line];
      while (++i < lines.length) {
        block.push(lines[i]);
        if (lines[i].trim().startsWith(fence)) break;
      }
      const md = block.join('\n');
      items.push({ type: 'text', md, value: block.slice(1, lines[i]?.trim().startsWith(fence) ? -1 : undefined).join('\n') });
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      items.push({ type: 'heading', level: heading[1].length, value: stripInlineMarkdown(heading[2]), md: line.trim() });
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      flush();
      const table = [line, lines[i + 1]];
      i += 2;
      while (i < lines.length && lines[i].trim() !== '' && lines[i].includes('|')) table.push(lines[i++]);
      i--;
      items.push(tableItem(table));
      continue;
    }
    paragraph.push(line);
  }
  flush();
  return items;
}
