import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBaseData from 'js-tiktoken/ranks/cl100k_base';
import { chunkMarkdown, EMBEDDING_MAX_INPUT_TOKENS } from './chunker';
import { encodeTokens } from './tokenizer';

/** The real tokenizer: js-tiktoken, special tokens as text. */
const reference = new Tiktoken(cl100kBaseData);
const refCount = (s: string): number => reference.encode(s, [], []).length;

function fromAlphabet(alphabet: string, length: number, seed: number): string {
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
const N = 200_000;

/**
 * Poison documents: one 200,000-character word. base64 and hex are many short regex pieces (js-tiktoken is fast
 * on them at any length); the others are one piece, where js-tiktoken is quadratic (hours for 200,000
 * characters, and minutes for one 8191-token chunk of them), so their chunks are also cut at a budget that keeps
 * the chunks short enough for js-tiktoken to check, on the word's first 50,000 characters (to keep the run short).
 */
const WORDS: [shape: string, word: string, manyPieces: boolean][] = [
  ['base64', fromAlphabet(BASE64, N, 11), true],
  ['hex', fromAlphabet('0123456789abcdef', N, 12), true],
  ['base64 letters only', fromAlphabet(BASE64.slice(0, 52), N, 13), false],
  ['one repeated letter', 'a'.repeat(N), false],
  ['random letters', fromAlphabet('abcdefghijklmnopqrstuvwxyz', N, 14), false],
  ['CJK without spaces', fromAlphabet('漢字仮名交じり文中国語日本', N, 15), false],
];

describe('chunkMarkdown: a 200,000-character word', () => {
  describe.each(WORDS)('%s', (_shape, word, manyPieces) => {
    it('is cut into chunks within the embedding limit by the exact count, covering the word', () => {
      const chunks = chunkMarkdown(word, { documentId: 'doc', maxTokens: EMBEDDING_MAX_INPUT_TOKENS });
      expect(chunks.map((c) => c.text).join('')).toBe(word);
      for (const c of chunks) {
        const tokens = encodeTokens(c.text).length; // equal to js-tiktoken's (cl100k-encoder.spec)
        expect(c.tokenCount).toBe(tokens);
        expect(tokens).toBeLessThanOrEqual(EMBEDDING_MAX_INPUT_TOKENS);
        if (manyPieces) expect(refCount(c.text)).toBe(tokens);
      }
      // Hard-split pieces fill most of the budget: no flood of tiny chunks.
      expect(chunks.length).toBeLessThanOrEqual(
        Math.ceil(encodeTokens(word).length / (0.9 * EMBEDDING_MAX_INPUT_TOKENS)) + 1,
      );
    });

    if (!manyPieces) {
      it('gives chunks that js-tiktoken itself counts within hardMaxTokens', () => {
        const hardMaxTokens = 16;
        const prefix = word.slice(0, 50_000);
        const chunks = chunkMarkdown(prefix, { documentId: 'doc', maxTokens: 512, hardMaxTokens });
        expect(chunks.map((c) => c.text).join('')).toBe(prefix);
        for (const c of chunks) {
          const real = refCount(c.text);
          expect(c.tokenCount).toBe(real);
          expect(real).toBeLessThanOrEqual(hardMaxTokens);
        }
      });
    }
  });
});
