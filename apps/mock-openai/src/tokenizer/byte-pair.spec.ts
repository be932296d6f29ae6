import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';
import { BytePairEncoder } from './byte-pair';

const reference = new Tiktoken(cl100kBase);
const refEncode = (s: string): number[] => reference.encode(s, [], []);

/** Deterministic pseudo-random word over `alphabet` (LCG), so every run tests the same words. */
function word(alphabet: string, length: number, seed: number): string {
  const chars = Array.from(alphabet);
  let x = seed >>> 0;
  let s = '';
  while (s.length < length) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    s += chars[Math.floor((x / 4294967296) * chars.length)];
  }
  return s.slice(0, length);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Long single words: base64 and hex are many short regex pieces, the others one piece each. */
const SHAPES: Record<string, (n: number) => string> = {
  base64: (n) => word(BASE64, n, 1),
  hex: (n) => word('0123456789abcdef', n, 2),
  'base64 letters only': (n) => word(BASE64.slice(0, 52), n, 3),
  'one repeated letter': (n) => 'a'.repeat(n),
  'random letters': (n) => word('abcdefghijklmnopqrstuvwxyz', n, 4),
  'CJK without spaces': (n) => word('漢字仮名交じり文中国語日本', n, 5),
};
/** Shapes made of many short pieces, on which js-tiktoken stays fast at 20,000 characters. */
const SHORT_PIECES = new Set(['base64', 'hex']);

/** Pieces that build words, runs and mixed-script text when joined at random. */
const PARTS = ['a', 'b', 'ab', 'aa', ' ', '中', '😀', '\n', '=', '1', 'é', 'the', 'ing', 'x7Q'];

describe('BytePairEncoder (cl100k_base)', () => {
  const encoder = new BytePairEncoder(cl100kBase);

  it('is identical to js-tiktoken on a mixed corpus and on random text', () => {
    const corpus = [
      '',
      'hello world',
      '# Heading\n\nSome *markdown* with `code` and a [link](https://example.com/a?b=c).\n',
      '漢字とかなの混じった文章です。中文句子没有空格也要正确计数。',
      'Emoji 😀👍🏽👩‍👩‍👧‍👦 café naïve Zürich ΑΒΓ Привет',
      'special <|endoftext|> and <|fim_prefix|> are plain text here',
      "it's we're they'll I'd 12345678 3.14159 $$$ ... !!! \t\t  \n\n\n   trailing   ",
      'lone surrogates \ud800 and \udfff',
    ];
    for (const s of corpus) expect(encoder.encode(s)).toEqual(refEncode(s));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.array(fc.constantFrom(...PARTS), { maxLength: 150 }).map((parts) => parts.join('')),
        ),
        (s) => expect(encoder.encode(s)).toEqual(refEncode(s)),
      ),
      { numRuns: 300 },
    );
  });

  it.each(Object.keys(SHAPES))('is identical to js-tiktoken on a long single word: %s', (shape) => {
    // js-tiktoken needs seconds for a few thousand characters of one regex piece, so one-piece words are
    // compared at 1,500 characters, many-piece words at 20,000.
    const text = SHAPES[shape](SHORT_PIECES.has(shape) ? 20_000 : 1500);
    expect(encoder.encode(text)).toEqual(refEncode(text));
  });

  it.each(Object.keys(SHAPES))('does O(n log n) work on a 200,000-character word: %s', (shape) => {
    const text = SHAPES[shape](200_000);
    const n = Buffer.byteLength(text, 'utf8');
    const fresh = new BytePairEncoder(cl100kBase);
    expect(fresh.encode(text).length).toBeGreaterThan(0);
    // Fewer than 3n pair lookups and 3n pushes, each push and pop sifting at most log2(3n) + 1 levels.
    expect(fresh.work).toBeLessThanOrEqual(3 * n + 2 * 3 * n * (Math.log2(3 * n) + 1));
  });
});
