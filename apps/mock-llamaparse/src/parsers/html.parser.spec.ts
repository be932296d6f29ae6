import { HtmlParser, MAX_HTML_DEPTH, flattenDeepNesting, htmlToMarkdown, sniffHtmlCharset } from './html.parser';
import { DocumentParseError } from './parser';
import { SAMPLE_HTML, SECRETS_IN_SAMPLE_HTML } from '@app/testing';

describe('HtmlParser', () => {
  const parser = new HtmlParser();

  it('converts the body to markdown', async () => {
    const { pages } = await parser.parse(Buffer.from(SAMPLE_HTML));
    expect(pages).toHaveLength(1);
    const md = pages[0].markdown;
    expect(md).toContain('# Release notes');
    expect(md).toContain('Version **2.0** ships a [new parser](https://example.com/docs).');
    expect(md).toMatch(/\* Faster uploads\n\* Signed webhooks/);
  });

  it('keeps tables as markdown tables (header row, empty cells in place, pipes escaped, cell paragraphs spaced)', async () => {
    const html =
      '<p>Scores:</p><table><thead><tr><th>a</th><th>b</th></tr></thead>' +
      '<tbody><tr><td>x | y | z</td><td></td></tr><tr><td><p>one</p><p>two</p></td><td>3</td></tr></tbody></table>';
    const { pages } = await parser.parse(Buffer.from(html));
    expect(pages[0].markdown).toBe(
      'Scores:\n\n| a           | b |\n| ----------- | - |\n| x \\| y \\| z |   |\n| one two     | 3 |',
    );
    expect(pages[0].markdown).toMatch(/^\| a +\| b \|$/m);
    expect(pages[0].markdown).toMatch(/^\| -+ \| -+ \|$/m);
  });

  it('drops scripts, styles, noscript, templates, comments and the head', async () => {
    const { pages } = await parser.parse(Buffer.from(SAMPLE_HTML));
    for (const out of [pages[0].markdown, pages[0].text])
      for (const secret of SECRETS_IN_SAMPLE_HTML) expect(out).not.toContain(secret);
  });

  it.each([
    ['upper-case tags', '<SCRIPT>HIDDEN()</SCRIPT><Style>.HIDDEN{}</Style><p>shown</p>'],
    ['an unclosed script', '<p>shown</p><script>HIDDEN until the end'],
    ['an unclosed comment', '<p>shown</p><!-- HIDDEN until the end'],
    ['a comment holding a script', '<p>shown</p><!-- <script>HIDDEN</script> -->'],
    ['a script inside svg', '<p>shown</p><svg><script>HIDDEN</script></svg>'],
    ['nested templates', '<p>shown</p><template><template>HIDDEN</template></template>'],
    ['CDATA and processing instructions', '<p>shown<![CDATA[ HIDDEN ]]><?php HIDDEN ?></p>'],
    ['a noscript block', '<noscript><p>HIDDEN</p></noscript><p>shown</p>'],
  ])('never lets hidden text through: %s', async (_name, html) => {
    const { pages } = await parser.parse(Buffer.from(html));
    expect(pages[0].markdown).toContain('shown');
    expect(pages[0].markdown).not.toContain('HIDDEN');
    expect(pages[0].text).not.toContain('HIDDEN');
  });

  it('gives plain text without markdown syntax as the text result', async () => {
    const { pages } = await parser.parse(Buffer.from(SAMPLE_HTML));
    expect(pages[0].text).toContain('Release notes');
    expect(pages[0].text).toContain('Version 2.0 ships a new parser.');
    expect(pages[0].text).not.toMatch(/\*\*|\]\(|^#/m);
  });

  it('honours a declared charset and rejects invalid UTF-8', async () => {
    const latin1 = Buffer.from('<meta charset="iso-8859-1"><p>caf\xe9</p>', 'latin1');
    expect(sniffHtmlCharset(latin1)).toBe('iso-8859-1');
    expect((await parser.parse(latin1)).pages[0].markdown).toBe('caf\u00e9');
    await expect(parser.parse(Buffer.from('<p>caf\xe9</p>', 'latin1'))).rejects.toThrow(DocumentParseError);
  });

  it('is deterministic', () => {
    expect(htmlToMarkdown(SAMPLE_HTML)).toBe(htmlToMarkdown(SAMPLE_HTML));
  });
});

describe('deeply nested HTML', () => {
  const nested = (depth: number) => `<html><body>${'<div>'.repeat(depth)}Deep <b>inside</b> the nest.${'</div>'.repeat(depth)}<p>After.</p></body></html>`;

  it('converts 5,000 nested divs (flattened past MAX_HTML_DEPTH levels instead of overflowing the stack)', async () => {
    const { pages } = await new HtmlParser().parse(Buffer.from(nested(5000)));
    // Past the cap the inline <b> is an element too deep: its text stays, its markup goes (as in a browser).
    expect(pages[0].markdown).toBe('Deep inside the nest.\n\nAfter.');
    expect(pages[0].text).toBe('Deep inside the nest.\n\nAfter.');
  });

  it('flattenDeepNesting keeps the outer levels and the content, drops the deeper tags', () => {
    expect(flattenDeepNesting('<div><div><div><br>x<img src="a"/></div></div></div><p>y</p>', 2)).toBe('<div><div><br>x<img src="a"/></div></div><p>y</p>');
    expect(flattenDeepNesting('<div><b>unclosed</div></i>', 1)).toBe('<div>unclosed</div></i>');
  });

  it('flattenDeepNesting is linear on unmatched closing tags', () => {
    const html = '<b>'.repeat(100_000) + '</i>'.repeat(100_000);
    expect(flattenDeepNesting(html).length).toBe(MAX_HTML_DEPTH * 3 + 100_000 * 4);
  });
});
