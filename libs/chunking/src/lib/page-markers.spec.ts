import { chunkMarkdown } from './chunker';
import { countReadableChars, hasReadableText, isEffectivelyEmpty, normalizeMarkdown } from './normalize';
import { pageAt, pageMarker, stripPageMarkers } from './page-markers';

const SEP = (n: number): string => `\n\n${pageMarker(n)}\n\n`;
const para = (page: number, i: number): string =>
  `Paragraph ${i} of page ${page} talks about topic${page}x${i} at some length, so that it fills a few tokens.`;
const pageText = (page: number, paragraphs: number): string =>
  Array.from({ length: paragraphs }, (_, i) => para(page, i)).join('\n\n');

describe('stripPageMarkers', () => {
  it('leaves text without markers alone', () => {
    expect(stripPageMarkers('# A\n\nbody\n\n---\n\nmore')).toEqual({ text: '# A\n\nbody\n\n---\n\nmore', pages: [] });
  });

  it('removes separator markers and says where each page starts', () => {
    const md = normalizeMarkdown(`one${SEP(2)}two${SEP(3)}three`);
    const { text, pages } = stripPageMarkers(md);
    expect(text).toBe('one\n\ntwo\n\nthree');
    expect(pages).toEqual([
      { offset: 0, page: 1 },
      { offset: 5, page: 2 },
      { offset: 10, page: 3 },
    ]);
    expect(normalizeMarkdown(text)).toBe(text);
  });

  it('accepts a marker before page 1, skips empty pages, and tolerates spacing', () => {
    const { text, pages } = stripPageMarkers(normalizeMarkdown(`<!-- page 1 -->\n\none\n\n<!--page 2-->\n\n<!--  page   3  -->\nthree`));
    expect(text).toBe('one\n\nthree');
    expect(pages).toEqual([
      { offset: 0, page: 1 },
      { offset: 5, page: 3 },
    ]);
  });

  it('ignores a marker that is not on a line of its own', () => {
    const md = 'see <!-- page 2 --> here';
    expect(stripPageMarkers(md)).toEqual({ text: md, pages: [] });
  });

  it('pageAt finds the page of an offset', () => {
    const pages = [
      { offset: 0, page: 1 },
      { offset: 10, page: 2 },
      { offset: 20, page: 4 },
    ];
    expect([0, 9, 10, 19, 20, 99].map((o) => pageAt(pages, o))).toEqual([1, 1, 2, 2, 4, 4]);
    expect(pageAt([], 3)).toBeUndefined();
  });
});

describe('chunkMarkdown with page markers', () => {
  const documentId = '00000000-0000-4000-8000-000000000001';
  const md = `# Report\n\n${pageText(1, 6)}${SEP(2)}${pageText(2, 6)}${SEP(3)}## Last\n\n${pageText(3, 6)}\n`;

  it('gives each chunk the pages its text comes from, and never keeps a marker', () => {
    const chunks = chunkMarkdown(md, { documentId, maxTokens: 64 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.text).not.toMatch(/<!--/);
      expect(c.pageStart).toBeDefined();
      expect(c.pageEnd).toBeGreaterThanOrEqual(c.pageStart ?? 0);
      // every paragraph in the chunk names its own page: the range covers exactly those
      const named = [...c.text.matchAll(/of page (\d)/g)].map((m) => Number(m[1]));
      expect(c.pageStart).toBe(Math.min(...named));
      expect(c.pageEnd).toBe(Math.max(...named));
    }
    const covered = new Set(chunks.flatMap((c) => [c.pageStart, c.pageEnd]));
    expect(covered).toEqual(new Set([1, 2, 3]));
  });

  it('reports a range when a chunk spans a page break', () => {
    const chunks = chunkMarkdown(`Start of the page one text.${SEP(2)}End of it on page two.`, { documentId });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ text: 'Start of the page one text.\n\nEnd of it on page two.', pageStart: 1, pageEnd: 2 });
  });

  it('with overlap, a chunk starts on the page its repeated text comes from', () => {
    const chunks = chunkMarkdown(md, { documentId, maxTokens: 64, overlapTokens: 16 });
    for (const c of chunks) {
      expect(c.text).not.toMatch(/<!--/);
      const named = [...c.text.matchAll(/of page (\d)/g)].map((m) => Number(m[1]));
      if (named.length) expect(c.pageEnd).toBe(Math.max(...named));
      expect(c.pageStart).toBeLessThanOrEqual(c.pageEnd ?? 0);
    }
  });

  it('chunks without markers have no page fields, and ids do not depend on markers', () => {
    const plain = chunkMarkdown(md.replace(/\n\n<!-- page \d -->\n\n/g, '\n\n'), { documentId, maxTokens: 64 });
    const marked = chunkMarkdown(md, { documentId, maxTokens: 64 });
    for (const c of plain) expect(c).not.toHaveProperty('pageStart');
    expect(marked.map((c) => [c.chunkId, c.text])).toEqual(plain.map((c) => [c.chunkId, c.text]));
  });
});

describe('readable text and emptiness ignore page markers', () => {
  it('a document of page markers alone (image-only pages, no OCR) is empty and has no readable text', () => {
    const md = `${SEP(2)}${SEP(3)}`;
    expect(isEffectivelyEmpty(md)).toBe(true);
    expect(countReadableChars(md)).toBe(0);
    expect(hasReadableText(md)).toBe(false);
    expect(countReadableChars(`ab${SEP(2)}c`)).toBe(3);
  });
});
