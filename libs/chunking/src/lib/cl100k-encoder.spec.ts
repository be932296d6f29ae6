import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBaseData from 'js-tiktoken/ranks/cl100k_base';
import { Cl100kEncoder } from './cl100k-encoder';

/** The reference: js-tiktoken's own encoder, special tokens treated as text. */
const reference = new Tiktoken(cl100kBaseData);
const refEncode = (s: string): number[] => reference.encode(s, [], []);

/** Deterministic pseudo-random generator (LCG), so every run tests the same words. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

function fromAlphabet(alphabet: string, length: number, seed: number): string {
  const chars = Array.from(alphabet);
  const next = lcg(seed);
  let s = '';
  while (s.length < length) s += chars[Math.floor(next() * chars.length)];
  return s.slice(0, length);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Single words of the shapes a poison document holds, `n` characters long. base64 and hex split into many
 * short regex pieces (digits, `+`, `/` break the letter runs); the others are one regex piece each, where
 * byte-pair merging does all the work.
 */
const SHAPES: Record<string, (n: number) => string> = {
  base64: (n) => fromAlphabet(BASE64, n, 1),
  'base64 letters only': (n) => fromAlphabet(BASE64.slice(0, 52), n, 2),
  hex: (n) => fromAlphabet('0123456789abcdef', n, 3),
  'one repeated letter': (n) => 'a'.repeat(n),
  'one repeated symbol': (n) => '='.repeat(n),
  'random letters': (n) => fromAlphabet('abcdefghijklmnopqrstuvwxyz', n, 4),
  'random mixed-case letters': (n) =>
    fromAlphabet('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', n, 5),
  'CJK without spaces': (n) => fromAlphabet('漢字仮名交じり文中国語日本', n, 6),
  'accented letters': (n) => fromAlphabet('éèàüöçñß', n, 7),
};

/** One-piece shapes on which js-tiktoken is quadratic with a large constant (seconds for a few thousand). */
const QUADRATIC_FOR_JS_TIKTOKEN = new Set([
  'base64 letters only',
  'one repeated letter',
  'one repeated symbol',
  'random letters',
  'random mixed-case letters',
  'CJK without spaces',
  'accented letters',
]);

/** Pieces that build words, runs and mixed-script text when joined at random. */
const PARTS = ['a', 'b', 'ab', 'aa', ' ', '中', '😀', '\n', '=', '1', 'é', 'the', 'ing', 'x7Q'];

/** Random text: any code points, or runs of the pieces above (merges, CJK, emoji, digits, line breaks). */
const randomText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(fc.constantFrom(...PARTS), { maxLength: 150 }).map((parts) => parts.join('')),
);

describe('Cl100kEncoder', () => {
  const encoder = new Cl100kEncoder(cl100kBaseData);
  /** The heap for every piece of more than one byte (no rescanning). */
  const heapOnly = new Cl100kEncoder(cl100kBaseData, { smallPieceBytes: 0 });
  /** tiktoken's rescanning loop for every piece: the algorithm of js-tiktoken and tiktoken, quadratic. */
  const scanOnly = new Cl100kEncoder(cl100kBaseData, { smallPieceBytes: Infinity });

  it('the heap alone and the rescanning loop alone are identical to js-tiktoken on random text', () => {
    fc.assert(
      fc.property(
        randomText,
        (s) => {
          const expected = refEncode(s);
          expect(heapOnly.encode(s)).toEqual(expected);
          expect(scanOnly.encode(s)).toEqual(expected);
          expect(heapOnly.count(s)).toBe(expected.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts what js-tiktoken encodes, cached pieces included, on random text', () => {
    fc.assert(
      fc.property(
        randomText,
        (s) => {
          const expected = refEncode(s).length;
          expect(encoder.count(s)).toBe(expected);
          expect(encoder.count(s)).toBe(expected); // the second time from the piece cache
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips what the pattern does not match, as tiktoken does, when the pattern does not match everywhere', () => {
    // cl100k's pattern matches at every position, so its pieces are found with a sticky test; a pattern that leaves
    // gaps (letters only) takes the global exec to the next piece: tiktoken's own loop over the matches
    const lettersOnly = { ...cl100kBaseData, pat_str: '\\p{L}+' };
    const ref = new Tiktoken(lettersOnly);
    const gaps = new Cl100kEncoder(lettersOnly);
    for (const s of ['123 hello, wörld!! 456', '  leading', 'trailing  ', '!!!', '', 'naïve café 漢字 42']) {
      expect(gaps.encode(s)).toEqual(ref.encode(s, [], []));
      expect(gaps.count(s)).toBe(ref.encode(s, [], []).length);
    }
  });

  describe.each(Object.keys(SHAPES))('a single long word: %s', (shape) => {
    const make = SHAPES[shape];
    /** About `bytes` bytes of the shape (CJK is 3 bytes a character, accented letters 2). */
    const ofBytes = (bytes: number): string =>
      make(Math.round((bytes * 64) / Buffer.byteLength(make(64), 'utf8')));

    it('is identical to js-tiktoken', () => {
      // js-tiktoken itself needs seconds for a few thousand bytes of one regex piece: compare there, and on
      // 20,000 bytes where it stays fast (many short pieces).
      const word = ofBytes(QUADRATIC_FOR_JS_TIKTOKEN.has(shape) ? 1500 : 20_000);
      const expected = refEncode(word);
      expect(encoder.encode(word)).toEqual(expected);
      expect(encoder.count(word)).toBe(expected.length);
      expect(heapOnly.encode(word)).toEqual(expected);
    });

    it('is identical to the rescanning loop on 20,000 bytes', () => {
      // The loop is js-tiktoken's algorithm (checked against it above and on random text) without its
      // per-pair string building, so it stays usable as a reference at this length.
      const word = ofBytes(20_000);
      const expected = scanOnly.encode(word);
      expect(encoder.encode(word)).toEqual(expected);
      expect(encoder.count(word)).toBe(expected.length);
    });

    it('does O(n log n) work on 200,000 characters', () => {
      const word = make(200_000);
      const n = Buffer.byteLength(word, 'utf8');
      const fresh = new Cl100kEncoder(cl100kBaseData, {}); // no cached pieces from other tests
      const tokens = fresh.count(word);
      expect(tokens).toBeGreaterThan(0);
      expect(fresh.work).toBeLessThanOrEqual(workBound(n));
      expect(fresh.encode(word)).toHaveLength(tokens);
    });
  });

  it('the work counter sees the rescanning loop grow quadratically and the heap as n log n', () => {
    const word = (n: number): string => fromAlphabet('abcdefghijklmnopqrstuvwxyz', n, 8);
    const work = (options: ConstructorParameters<typeof Cl100kEncoder>[1], n: number): number => {
      const e = new Cl100kEncoder(cl100kBaseData, options);
      e.count(word(n));
      return e.work;
    };
    const scanGrowth = work({ smallPieceBytes: Infinity }, 8000) / work({ smallPieceBytes: Infinity }, 800);
    const heapGrowth = work({}, 200_000) / work({}, 20_000);
    expect(scanGrowth).toBeGreaterThan(50); // ~100 for 10x the length
    expect(heapGrowth).toBeLessThan(10 * (Math.log2(200_000) / Math.log2(20_000)) * 1.1);
  });
});

/**
 * Upper bound of the work of one encoding of n bytes with the heap: fewer than 3n pair lookups and 3n pushes
 * (n - 1 pairs, then two per merge, fewer than n merges), each push and pop sifting at most log2(3n) + 1 levels.
 */
function workBound(n: number): number {
  const pushes = 3 * n;
  return pushes + 2 * pushes * (Math.log2(pushes) + 1);
}
