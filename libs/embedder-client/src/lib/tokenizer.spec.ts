import { countTokens } from './tokenizer';

describe('countTokens (cl100k_base)', () => {
  it('counts as the OpenAI tokenizer does', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('hello world')).toBe(2);
    expect(countTokens('The quick brown fox jumped over the lazy dog')).toBe(9);
    expect(countTokens('a'.repeat(1000))).toBeGreaterThan(100);
  });

  it('treats special-token strings in user text as ordinary text instead of throwing', () => {
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1);
  });
});
