import { DocumentParseError } from './parser';
import { PdfParser } from './pdf.parser';
import { buildLayoutPdf, buildPdf, samplePdf, SAMPLE_PDF_PAGES } from '@app/testing';

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

  it('lays out headings, list items, tables and paragraphs from text positions and sizes', async () => {
    const bytes = buildLayoutPdf([
      [
        { text: 'Annual Report', x: 72, y: 720, size: 24 },
        { text: 'Revenue grew in every region', x: 72, y: 690 },
        { text: 'and costs stayed flat.', x: 72, y: 676 },
        { text: 'Highlights', x: 72, y: 645, size: 16 },
        { text: '\u2022 first point', x: 72, y: 620 },
        { text: '- second point that wraps', x: 72, y: 606 },
        { text: 'onto a second line', x: 84, y: 592 },
        { text: '1. numbered step', x: 72, y: 570 },
        { text: 'a', x: 72, y: 540 }, { text: 'b', x: 200, y: 540 },
        { text: 'Alice', x: 72, y: 526 }, { text: '91', x: 200, y: 526 },
        { text: 'Bob | Jr', x: 72, y: 512 }, { text: '7', x: 200, y: 512 },
        { text: 'A closing paragraph.', x: 72, y: 480 },
      ],
      [
        { text: 'Appendix', x: 72, y: 720, size: 16 },
        { text: 'Last words.', x: 72, y: 700 },
      ],
    ]);
    const { pages } = await parser.parse(bytes);
    expect(pages[0].markdown).toBe(
      [
        '# Annual Report',
        'Revenue grew in every region\nand costs stayed flat.',
        '## Highlights',
        '- first point\n- second point that wraps onto a second line',
        '1. numbered step',
        '| a | b |\n| --- | --- |\n| Alice | 91 |\n| Bob \\| Jr | 7 |',
        'A closing paragraph.',
      ].join('\n\n'),
    );
    // Heading levels are ranked over the document; the body size too (a sparse page keeps its heading).
    expect(pages[1].markdown).toBe('## Appendix\n\nLast words.');
    // The text result stays plain.
    expect(pages[0].text).toContain('Annual Report\nRevenue grew in every region');
    expect(pages[0].text).not.toContain('#');
  });

  it('keeps two-column prose out of tables and same-size lines as paragraphs', async () => {
    const long = 'This is a long line of ordinary prose that fills the column';
    const { pages } = await parser.parse(
      buildLayoutPdf([[
        { text: long, x: 40, y: 700, size: 8 }, { text: long, x: 320, y: 700, size: 8 },
        { text: long, x: 40, y: 690, size: 8 }, { text: long, x: 320, y: 690, size: 8 },
      ]]),
    );
    expect(pages[0].markdown).not.toContain('|');
    expect(pages[0].markdown).not.toContain('#');
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
