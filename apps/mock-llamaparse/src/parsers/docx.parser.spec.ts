import { DocxParser } from './docx.parser';
import { DocumentParseError } from './parser';
import { buildDocx, buildZip, sampleDocx } from '@app/testing';

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
});
