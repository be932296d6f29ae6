import fc from 'fast-check';
import { type BlockKind, scanBlocks } from './markdown-blocks';

const kinds = (md: string): [BlockKind, string][] =>
  scanBlocks(md).map((b) => [b.kind, md.slice(b.start, b.end)]);

describe('scanBlocks', () => {
  it('reads ATX headings with level and title, closing hashes removed', () => {
    const blocks = scanBlocks('# One\n## Two ##\n   ###### Six\n#hashtag is text\n#\n####### seven');
    expect(blocks.map((b) => [b.kind, b.level, b.title])).toEqual([
      ['heading', 1, 'One'],
      ['heading', 2, 'Two'],
      ['heading', 6, 'Six'],
      ['paragraph', 0, ''],
      ['heading', 1, ''],
      ['paragraph', 0, ''],
    ]);
  });

  it('reads setext headings from the paragraph above the underline', () => {
    const blocks = scanBlocks('Big title\n=========\n\nSmall\ntitle\n---\n\ntext');
    expect(blocks.map((b) => [b.kind, b.level, b.title])).toEqual([
      ['heading', 1, 'Big title'],
      ['heading', 2, 'Small title'],
      ['paragraph', 0, ''],
    ]);
  });

  it('keeps fenced code whole, blank lines and heading-like lines included', () => {
    const md =
      'intro\n```python\n# not a heading\n\n\n| a | b |\n|---|---|\n```\nafter\n\n~~~~\n```\nstill code\n~~~~';
    expect(kinds(md)).toEqual([
      ['paragraph', 'intro'],
      ['code', '```python\n# not a heading\n\n\n| a | b |\n|---|---|\n```'],
      ['paragraph', 'after'],
      ['code', '~~~~\n```\nstill code\n~~~~'],
    ]);
  });

  it('runs an unclosed fence to the end of the document', () => {
    expect(kinds('text\n\n```\ncode\n\n# more code')).toEqual([
      ['paragraph', 'text'],
      ['code', '```\ncode\n\n# more code'],
    ]);
  });

  it('reads GFM tables as one block ending at the first line without a pipe', () => {
    const md = 'Before\n| h1 | h2 |\n| :-- | --: |\n| a | b |\n| c | d |\nAfter';
    expect(kinds(md)).toEqual([
      ['paragraph', 'Before'],
      ['table', '| h1 | h2 |\n| :-- | --: |\n| a | b |\n| c | d |'],
      ['paragraph', 'After'],
    ]);
    expect(kinds('a | b\n--- | ---\n1 | 2')).toEqual([['table', 'a | b\n--- | ---\n1 | 2']]);
  });

  it('makes every list item, nested ones too, a block with its continuation lines', () => {
    const md = '- one\n  continued\n- two\n  - nested\n1. first\n2) second\nlazy line\n\n* star';
    expect(kinds(md)).toEqual([
      ['list_item', '- one\n  continued'],
      ['list_item', '- two'],
      ['list_item', '  - nested'],
      ['list_item', '1. first'],
      ['list_item', '2) second\nlazy line'],
      ['list_item', '* star'],
    ]);
  });

  it('reads block quotes, thematic breaks and paragraphs', () => {
    expect(kinds('> quoted\n> more\nlazy\n\n***\n\npara one\npara two\n\n- - -')).toEqual([
      ['quote', '> quoted\n> more\nlazy'],
      ['break', '***'],
      ['paragraph', 'para one\npara two'],
      ['break', '- - -'],
    ]);
  });

  it('covers every non-blank line exactly once, in order (property)', () => {
    const line = fc.oneof(
      fc.constantFrom(
        '# h',
        '## h2 #',
        'text',
        '```',
        '~~~',
        '| a | b |',
        '|---|---|',
        '- item',
        '1. item',
        '> q',
        '---',
        '===',
        '   ',
        '',
        '  indented',
        '***',
        'a | b',
        '--- | ---',
      ),
      fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, ' ')),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const md = lines.join('\n');
        const blocks = scanBlocks(md);
        let prevEnd = -1;
        const covered: string[] = [];
        for (const b of blocks) {
          expect(b.start).toBeGreaterThan(prevEnd);
          expect(b.end).toBeGreaterThanOrEqual(b.start);
          expect(b.start === 0 || md[b.start - 1] === '\n').toBe(true);
          expect(b.end === md.length || md[b.end] === '\n').toBe(true);
          covered.push(...md.slice(b.start, b.end).split('\n'));
          prevEnd = b.end;
        }
        const nonBlank = (ls: string[]): string[] => ls.filter((l) => l.trim() !== '');
        expect(nonBlank(covered)).toEqual(nonBlank(lines.join('\n').split('\n')));
      }),
      { numRuns: 300 },
    );
  });
});
