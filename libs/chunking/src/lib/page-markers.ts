/**
 * Page markers in parsed markdown. The parser drivers (@app/parser-client) join a document's pages with
 * `\n\n<!-- page N -->\n\n` (N: the number of the page that follows; LlamaParse v1's `page_separator` form field
 * with its `{pageNumber}` placeholder, and the v2 driver's own join of the per-page markdown), so page 1 has no
 * marker of its own. An HTML comment renders as nothing, and unlike `---` (a thematic break) it cannot be
 * mistaken for the document's own content.
 *
 * A marker is recognised on a line of its own in the normalized text; a marker before the first page
 * (`<!-- page 1 -->` at the very start) is accepted too.
 */
export const PAGE_MARKER = /^<!--[^\S\n]*page[^\S\n]+(\d{1,6})[^\S\n]*-->$/gm;

/** The marker line for page `n`. */
export function pageMarker(n: number): string {
  return `<!-- page ${n} -->`;
}

/** Where a page's text starts in the text with the markers removed. */
export interface PageStart {
  offset: number;
  page: number;
}

export interface PageMarkedText {
  /** The input with every marker line (and the blank lines around it) removed; pages joined by one blank line. */
  text: string;
  /** Page starts, in order of offset (pages with no text are left out); empty when the input had no marker. */
  pages: PageStart[];
}

/**
 * Removes the page markers from normalized markdown (see normalizeMarkdown) and says where each page starts in
 * what is left. The result is normalized too: pages are joined by exactly one blank line. Text before the first
 * marker is the page before that marker's page (page 1 when the markers are separators).
 */
export function stripPageMarkers(normalized: string): PageMarkedText {
  const re = new RegExp(PAGE_MARKER.source, 'gm');
  let m = re.exec(normalized);
  if (!m) return { text: normalized, pages: [] };
  const parts: string[] = [];
  const pages: PageStart[] = [];
  let length = 0;
  const add = (piece: string, page: number): void => {
    const trimmed = piece.replace(/^\n+/, '').replace(/\n+$/, '');
    if (!trimmed) return;
    if (parts.length) length += 2; // the '\n\n' joining it to the page before
    pages.push({ offset: length, page });
    parts.push(trimmed);
    length += trimmed.length;
  };
  let from = 0;
  let page = Math.max(1, Number(m[1]) - 1);
  for (; m !== null; m = re.exec(normalized)) {
    add(normalized.slice(from, m.index), page);
    from = m.index + m[0].length;
    page = Number(m[1]);
  }
  add(normalized.slice(from), page);
  return { text: parts.join('\n\n'), pages };
}

/** The page of the character at `offset` (pages from {@link stripPageMarkers}); undefined when there are none. */
export function pageAt(pages: readonly PageStart[], offset: number): number | undefined {
  if (!pages.length) return undefined;
  let lo = 0;
  let hi = pages.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (pages[mid].offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return pages[lo].page;
}
