import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  MIN_READABLE_CHARS,
  countReadableChars,
  hasReadableText,
  isEffectivelyEmpty,
  markdownSha256,
  normalizeMarkdown,
  sha256Hex,
} from './normalize';

describe('normalizeMarkdown', () => {
  it('turns CRLF and lone CR into LF', () => {
    expect(normalizeMarkdown('a\r\nb\rc\n\rd')).toBe('a\nb\nc\n\nd');
  });

  it('turns VT, FF, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR into LF', () => {
    expect(normalizeMarkdown('p1\fp2\vp3\u0085p4\u2028p5\u2029p6')).toBe('p1\np2\np3\np4\np5\np6');
  });

  it('removes NUL, other C0 controls, DEL and C1 controls but keeps tab and LF', () => {
    expect(normalizeMarkdown('a\u0000b\u0001c\u0008d\u001be\u001ff\u007fg\u0080h\u009fi\tj\nk')).toBe(
      'abcdefghi\tj\nk',
    );
  });

  it('strips the byte-order mark at the start and anywhere else', () => {
    expect(normalizeMarkdown('\uFEFF# Title\n\nte\uFEFFxt')).toBe('# Title\n\ntext');
  });

  it('applies Unicode NFC, also where a removed control separated a base and a combining mark', () => {
    expect(normalizeMarkdown('Cafe\u0301')).toBe('Caf\u00e9');
    expect(normalizeMarkdown('e\u0000\u0301')).toBe('\u00e9');
    expect(normalizeMarkdown('\u212b')).toBe('\u00c5'); // ANGSTROM SIGN -> A WITH RING ABOVE
  });

  it('removes trailing whitespace (spaces, tabs, no-break spaces) on every line', () => {
    expect(normalizeMarkdown('a  \nb\t\t\nc\u00a0\u3000\n  d')).toBe('a\nb\nc\n  d');
  });

  it('collapses two or more blank lines (whitespace-only lines included) into one', () => {
    expect(normalizeMarkdown('a\n\n\n\nb\n   \n \t\n\nc\n\nd')).toBe('a\n\nb\n\nc\n\nd');
  });

  it('trims leading blank lines and trailing line breaks but keeps the first line indentation', () => {
    expect(normalizeMarkdown('\n  \n\n    code\n\n\n')).toBe('    code');
  });

  it('is idempotent (property)', () => {
    const tricky = fc.constantFrom(
      'a',
      'é',
      'e',
      '\u0301',
      '\u0308',
      ' ',
      '\t',
      '\n',
      '\r',
      '\r\n',
      '\u0000',
      '\u0007',
      '\u000b',
      '\u000c',
      '\u0085',
      '\u2028',
      '\uFEFF',
      '\u00a0',
      '\u3000',
      '#',
      '`',
      '漢',
      '😀',
      '\u200d',
      '\u212b',
      'ﬁ',
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 80 }),
        (parts) => {
          const once = normalizeMarkdown(parts.join(''));
          expect(normalizeMarkdown(once)).toBe(once);
          expect(once).toBe(once.normalize('NFC'));
          // eslint-disable-next-line no-control-regex -- asserting that no control characters are left
          expect(once).not.toMatch(/[\r\u0000-\u0008\u000b-\u001f\uFEFF]|[^\S\n]\n|\n\n\n|^\n|\s$/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('markdownSha256', () => {
  it('is the sha256 hex of the UTF-8 of the normalized text', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const md = '\uFEFF# Titre\r\n\r\n\r\n\r\nCafe\u0301  \r\n';
    const expected = createHash('sha256').update(Buffer.from('# Titre\n\nCaf\u00e9', 'utf8')).digest('hex');
    expect(markdownSha256(md)).toBe(expected);
  });

  it('is equal for inputs that differ only by what the rule removes, and differs otherwise', () => {
    expect(markdownSha256('a\r\nb  \n\n\n')).toBe(markdownSha256('a\nb'));
    expect(markdownSha256('a\nb')).not.toBe(markdownSha256('a\nc'));
  });
});

describe('hasReadableText / countReadableChars', () => {
  it('counts letters and digits of any script after normalization, nothing else', () => {
    expect(countReadableChars('')).toBe(0);
    expect(countReadableChars('---\n\n| | |\n|---|---|\n\n. , ; 😀 \u2014 a1')).toBe(2);
    expect(countReadableChars('caf\u00e9 \u65e5\u672c 42 \u0663')).toBe(9);
    expect(countReadableChars('abcdef', 3)).toBe(3);
  });

  it(`needs at least ${MIN_READABLE_CHARS} letters or digits`, () => {
    for (const md of ['', '   ', '\n\n---\n\n', '- \n- \n', '😀😀😀', '| | |\n|---|---|', '# ', 'ab', '\u0000a\uFEFFb'])
      expect(hasReadableText(md)).toBe(false);
    for (const md of ['abc', 'Hi 5', '\u65e5\u672c\u8a9e', '# 2024']) expect(hasReadableText(md)).toBe(true);
    expect(hasReadableText('a', 1)).toBe(true);
  });
});

describe('isEffectivelyEmpty', () => {
  it('is true exactly when nothing survives normalization', () => {
    for (const md of ['', '   ', '\n\r\n\t \n', '\uFEFF', '\u0000\u0001\f', '\u00a0\u3000']) {
      expect(isEffectivelyEmpty(md)).toBe(true);
    }
    for (const md of ['a', '  #', '\uFEFF\u0000x', '😀']) expect(isEffectivelyEmpty(md)).toBe(false);
  });
});
