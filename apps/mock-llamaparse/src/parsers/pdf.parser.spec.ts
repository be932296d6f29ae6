import { DocumentParseError } from './parser';
import { PdfParser } from './pdf.parser';
import { buildPdf, samplePdf, SAMPLE_PDF_PAGES } from '@app/testing';

describe('PdfParser', () => {
  const parser = new PdfParser();

  it('extracts the text of each page of a generated 2-page PDF', async () => {
    const { pages } = await parser.parse(samplePdf());
    expect(pages).toHaveLength(2);
    expect(pages[0].text).toBe(SAMPLE_PDF_PAGES[0].join('\n'));
    expect(pages[1].text).toBe(SAMPLE_PDF_PAGES[1].join('\n'));
    expect(pages[0].markdown).toBe(pages[0].text);
    expect(pages[0].text).not.toContain('Second page');
  });

  it('reads PDF string escapes', async () => {
    const { pages } = await parser.parse(buildPdf([['a (b) c\\d']]));
    expect(pages[0].text).toBe('a (b) c\\d');
  });

  it('is deterministic', async () => {
    const bytes = samplePdf();
    expect(await parser.parse(bytes)).toEqual(await parser.parse(bytes));
  });

  it('leaves the caller buffer intact', async () => {
    const bytes = samplePdf();
    const copy = Buffer.from(bytes);
    await parser.parse(bytes);
    expect(bytes.equals(copy)).toBe(true);
  });

  it.each([
    ['not a PDF at all', Buffer.from('hello, I am not a pdf')],
    ['a truncated PDF', samplePdf().subarray(0, 120)],
  ])('fails with a DocumentParseError for %s', async (_name, bytes) => {
    await expect(parser.parse(bytes)).rejects.toThrow(DocumentParseError);
    await expect(parser.parse(bytes)).rejects.toThrow(/Could not read PDF file/);
  });
});
