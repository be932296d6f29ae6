import { DocxParser } from './docx.parser';
import { DocumentParseError } from './parser';
import { buildDocx, buildDocxWithTables, buildZip, docxZipBomb, sampleDocx, zipWithDeclaredSize } from '@app/testing';

describe('DocxParser', () => {
  const parser = new DocxParser();

  it('converts headings, paragraphs and bold runs to markdown', async () => {
    const { pages } = await parser.parse(sampleDocx());
    expect(pages).toHaveLength(1);
    expect(pages[0].markdown).toBe(
      '# Project Charter\n\nThe goal is a reliable ingestion pipeline.\n\n## Scope\n\n**Parsing, chunking and embedding.**',
    );
  });

  it('gives the raw text as the text result', async () => {
    const { pages } = await parser.parse(sampleDocx());
    expect(pages[0].text).toBe(
      'Project Charter\n\nThe goal is a reliable ingestion pipeline.\n\nScope\n\nParsing, chunking and embedding.',
    );
  });

  it('converts tables to markdown tables (first row the header; empty cells and pipes kept in place)', async () => {
    const bytes = buildDocxWithTables([
      'Before',
      { table: [['a', 'b', 'c'], ['Alice', '91', ''], ['', 'two\nparagraphs', 'x | y']] },
      'After',
    ]);
    const { pages } = await parser.parse(bytes);
    expect(pages[0].markdown).toBe(
      [
        'Before',
        '| a     | b              | c      |\n' +
          '| ----- | -------------- | ------ |\n' +
          '| Alice | 91             |        |\n' +
          '|       | two paragraphs | x \\| y |',
        'After',
      ].join('\n\n'),
    );
  });

  it('escapes markdown characters that are text', async () => {
    const { pages } = await parser.parse(buildDocx([{ text: 'Use *stars* & <angle> brackets' }]));
    expect(pages[0].markdown).toBe('Use \\*stars\\* & <angle> brackets');
  });

  it('is deterministic', async () => {
    const bytes = sampleDocx();
    expect(await parser.parse(bytes)).toEqual(await parser.parse(bytes));
  });

  it.each([
    ['bytes that are not a zip', Buffer.from('PK\x03\x04 but nothing else')],
    ['a zip without word/document.xml', buildZip([{ name: 'hello.txt', data: 'hi' }])],
    ['a truncated docx', sampleDocx().subarray(0, 200)],
  ])('fails with a DocumentParseError for %s', async (_name, bytes) => {
    await expect(parser.parse(bytes)).rejects.toThrow(DocumentParseError);
    await expect(parser.parse(bytes)).rejects.toThrow(/Could not read DOCX file/);
  });

  describe('zip bombs', () => {
    it('refuses a DOCX whose entries declare more than the limit, without inflating it', async () => {
      const bomb = docxZipBomb(64);
      const before = process.memoryUsage().rss;
      const err = await new DocxParser().parse(bomb).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DocumentParseError);
      expect(err).toMatchObject({ code: 'DOCX_TOO_LARGE' });
      expect((err as Error).message).toMatch(/too large when decompressed: .*declare 64\.0 MiB.*word\/document\.xml.*over the 50\.0 MiB limit/);
      expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
    });

    it('refuses a bomb that declares small sizes, by what actually inflates', async () => {
      const liar = zipWithDeclaredSize(docxZipBomb(8), 'word/document.xml', 1000);
      const err = await new DocxParser(4 * 1024 * 1024).parse(liar).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DOCX_TOO_LARGE' });
      expect((err as Error).message).toMatch(/word\/document\.xml inflates to over .* \(declared 0\.0 MiB\), over the 4\.0 MiB limit/);
    });

    it('still reads a DOCX under the limit', async () => {
      const { pages } = await new DocxParser(1024 * 1024).parse(sampleDocx());
      expect(pages[0].text).toContain('Project Charter');
    });
  });
});
