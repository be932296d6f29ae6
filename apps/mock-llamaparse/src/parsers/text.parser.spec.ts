import { DocumentParseError } from './parser';
import { TextParser } from './text.parser';
import { SAMPLE_MARKDOWN, SAMPLE_TEXT } from '@app/testing';

describe('TextParser', () => {
  const parser = new TextParser();

  it('returns text as it is, without the BOM and with LF line endings', async () => {
    const { pages } = await parser.parse(Buffer.from(SAMPLE_TEXT, 'utf8'));
    expect(pages).toHaveLength(1);
    expect(pages[0].markdown).toBe('Plain text line one.\nLine two with unicode: caf\u00e9 \u2014 \u65e5\u672c.\n');
    expect(pages[0].text).toBe(pages[0].markdown);
  });

  it('keeps markdown syntax untouched (only CRLF becomes LF)', async () => {
    const { pages } = await parser.parse(Buffer.from(SAMPLE_MARKDOWN, 'utf8'));
    expect(pages[0].markdown).toBe('# Notes\n\n- first item\n- second *item*\n');
  });

  it('turns a lone CR into LF', async () => {
    const { pages } = await parser.parse(Buffer.from('a\rb\r\nc', 'utf8'));
    expect(pages[0].text).toBe('a\nb\nc');
  });

  it('rejects bytes that are not UTF-8', async () => {
    const latin1 = Buffer.from('caf\xe9 au lait', 'latin1');
    await expect(parser.parse(latin1)).rejects.toThrow(DocumentParseError);
    await expect(parser.parse(latin1)).rejects.toThrow('not valid UTF-8');
  });

  it('is deterministic', async () => {
    const bytes = Buffer.from(SAMPLE_TEXT, 'utf8');
    expect(await parser.parse(bytes)).toEqual(await parser.parse(bytes));
  });
});
