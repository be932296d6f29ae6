import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import { countTokens, createTokenCounter, encodeTokens } from './tokenizer';

import cl100kBaseData from 'js-tiktoken/ranks/cl100k_base';

/** The reference: js-tiktoken's own encoder, special tokens treated as text. */
const reference = new Tiktoken(cl100kBaseData);
const refEncode = (s: string): number[] => reference.encode(s, [], []);

describe('cl100k_base tokenizer', () => {
  it('matches known token ids', () => {
    expect(encodeTokens('hello world')).toEqual([15339, 1917]);
    expect(countTokens('')).toBe(0);
  });

  it('is identical to js-tiktoken on a mixed corpus', () => {
    const corpus = [
      'The quick brown fox jumps over the lazy dog.',
      '# Heading\n\nSome *markdown* with `code` and a [link](https://example.com/a?b=c).\n',
      '```ts\nconst x: number = 42; // comment\n```\n| a | b |\n|---|---|\n| 1 | 2 |',
      '漢字とかなの混じった文章です。これは日本語のテスト。中文句子没有空格也要正确计数。',
      'Emoji 😀👍🏽👩‍👩‍👧‍👦 and flags 🇫🇷🇯🇵 mixed with café, naïve, Zürich, ΑΒΓ, Привет',
      'special <|endoftext|> and <|fim_prefix|> are plain text here',
      "it's we're they'll I'd 12345678 3.14159 $$$ ... !!! \t\t  \n\n\n   trailing   ",
      'a'.repeat(300),
      '中'.repeat(250),
    ];
    for (const s of corpus) expect(encodeTokens(s)).toEqual(refEncode(s));
  });

  it('is identical to js-tiktoken on random strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(encodeTokens(s)).toEqual(refEncode(s));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'ab', ' ', '中', '文', '😀', '\n', '.', '1', 'é', 'the', 'ing'), {
          maxLength: 120,
        }),
        (parts) => {
          const s = parts.join('');
          expect(countTokens(s)).toBe(refEncode(s).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts long unbroken runs (where js-tiktoken is quadratic) in bounded time', () => {
    const cjk = '漢字仮名交じり文'.repeat(5000); // 40,000 characters, one regex piece
    const n = countTokens(cjk);
    expect(n).toBeGreaterThan(20000);
    expect(countTokens('a'.repeat(200000))).toBeGreaterThan(0);
  }, 30000);

  it('createTokenCounter returns an equivalent counter', () => {
    const counter = createTokenCounter();
    expect(counter('hello world')).toBe(2);
    expect(counter('漢字')).toBe(countTokens('漢字'));
  });
});
