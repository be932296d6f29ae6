import { PAGE_SEPARATOR, ParserRegistry, detectDocumentType, joinPages } from './parser.registry';
import { SAMPLE_HTML, buildPdf, samplePdf, sampleDocx } from '@app/testing';

describe('detectDocumentType', () => {
  it.each([
    ['a.txt', '', 'txt'],
    ['a.TXT', 'application/octet-stream', 'txt'],
    ['notes.md', 'text/plain', 'md'],
    ['notes.markdown', '', 'md'],
    ['page.htm', '', 'html'],
    ['page.html', 'text/html; charset=utf-8', 'html'],
    ['doc.pdf', 'application/octet-stream', 'pdf'],
    ['doc.docx', '', 'docx'],
    ['README', 'text/plain', 'txt'],
    ['upload', 'application/pdf', 'pdf'],
    ['upload', 'Text/Markdown', 'md'],
    ['upload', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'],
  ])('%s (%s) -> %s', (name, mime, type) => {
    expect(detectDocumentType(name, mime)).toBe(type);
  });

  it.each([
    ['image.png', 'image/png'],
    ['archive.zip', 'application/zip'],
    ['old.doc', 'application/msword'],
    ['blob', 'application/octet-stream'],
    ['', ''],
    [undefined, undefined],
  ])('rejects %s (%s)', (name, mime) => {
    expect(detectDocumentType(name, mime)).toBeUndefined();
  });
});

describe('ParserRegistry', () => {
  const registry = new ParserRegistry();

  it('joins PDF pages with the page separator and counts them', async () => {
    const out = await registry.parse('pdf', samplePdf());
    expect(out.pages).toBe(2);
    expect(out.markdown.split(PAGE_SEPARATOR)).toEqual([
      'Quarterly report\nRevenue grew by twelve percent.',
      'Second page heading\nCosts were flat (as planned).',
    ]);
  });

  it('joins pages with the upload\'s page_separator, {pageNumber} the next page', async () => {
    const out = await registry.parse('pdf', buildPdf([['one'], ['two'], ['three']]), { pageSeparator: '\n\n<!-- page {pageNumber} -->\n\n' });
    expect(out.markdown).toBe('one\n\n<!-- page 2 -->\n\ntwo\n\n<!-- page 3 -->\n\nthree');
    expect(out.text).toBe('one\n\n<!-- page 2 -->\n\ntwo\n\n<!-- page 3 -->\n\nthree');
    expect(joinPages(['a'], 'X{pageNumber}')).toBe('a');
    expect(joinPages(['a', 'b'])).toBe(`a${PAGE_SEPARATOR}b`);
  });

  it('routes every type to a parser that gives one page for non-paged formats', async () => {
    for (const [type, bytes] of [
      ['html', Buffer.from(SAMPLE_HTML)],
      ['docx', sampleDocx()],
      ['txt', Buffer.from('x')],
      ['md', Buffer.from('# x')],
    ] as const) {
      const out = await registry.parse(type, bytes);
      expect(out.pages).toBe(1);
      expect(out.markdown.length).toBeGreaterThan(0);
    }
  });
});
