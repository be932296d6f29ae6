import { markdownToItems, stripInlineMarkdown } from './page-items';

describe('markdownToItems', () => {
  it('finds headings, pipe tables with their rows and text blocks, in order', () => {
    const md = '# Title\n\nIntro with **bold** and [a link](http://x).\n\n| a | b |\n| :-- | --: |\n| 1 | x\\|y |\n\n## Sub\n- one\n- two';
    expect(markdownToItems(md)).toEqual([
      { type: 'heading', level: 1, value: 'Title', md: '# Title' },
      { type: 'text', value: 'Intro with bold and a link.', md: 'Intro with **bold** and [a link](http://x).' },
      {
        type: 'table',
        rows: [
          ['a', 'b'],
          ['1', 'x|y'],
        ],
        md: '| a | b |\n| :-- | --: |\n| 1 | x\\|y |',
        csv: 'a,b\n1,x|y',
        html: '<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>x|y</td></tr></tbody></table>',
      },
      { type: 'heading', level: 2, value: 'Sub', md: '## Sub' },
      { type: 'text', value: '- one\n- two', md: '- one\n- two' },
    ]);
  });

  it('keeps a fenced code block whole, headings inside included', () => {
    expect(markdownToItems('```\n# not a heading\n\nx\n```\nafter')).toEqual([
      { type: 'text', value: '# not a heading\n\nx', md: '```\n# not a heading\n\nx\n```' },
      { type: 'text', value: 'after', md: 'after' },
    ]);
  });

  it('gives no items for an empty page and plain lines for PDF text', () => {
    expect(markdownToItems('')).toEqual([]);
    expect(markdownToItems('Line one\nLine two')).toEqual([{ type: 'text', value: 'Line one\nLine two', md: 'Line one\nLine two' }]);
  });

  it('strips inline markdown', () => {
    expect(stripInlineMarkdown('`code` _em_ ~~del~~ ![alt](i.png) \\*')).toBe('code em del alt *');
  });
});
