/**
 * LlamaParse's page separator template (`{pageNumber}`: the number of the page that follows), as the v1 driver
 * asks for it (`page_separator`) and the v2 driver joins the per-page markdown with it: an HTML comment on a line of
 * its own, which @app/chunking recognises (page ranges of chunks) and strips from chunk text. Unlike LlamaParse's
 * default (`---`, a markdown thematic break) it cannot be confused with the document's own content.
 */
export const PAGE_SEPARATOR_TEMPLATE = '\n\n<!-- page {pageNumber} -->\n\n';

/** Pages' markdown (page 1 first) joined with {@link PAGE_SEPARATOR_TEMPLATE}, as a v1 result with it reads. */
export function joinPages(pages: readonly string[]): string {
  return pages.map((p, i) => (i === 0 ? p : PAGE_SEPARATOR_TEMPLATE.replace('{pageNumber}', String(i + 1)) + p)).join('');
}
