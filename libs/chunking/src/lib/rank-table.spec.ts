import cl100kBaseData from 'js-tiktoken/ranks/cl100k_base';
import { rankedTokens, RankTable } from './rank-table';

describe('RankTable', () => {
  it('finds a token by a range of a latin1 string, and nothing else', () => {
    const t = new RankTable(['a', 'b', 'ab', undefined, 'abc', '\u00ff\u0000']);
    expect(t.size).toBe(6);
    expect(t.find('ab', 0, 2)).toBe(2);
    expect(t.find('xaby', 1, 3)).toBe(2);
    expect(t.find('xaby', 1, 2)).toBe(0);
    expect(t.find('abc', 0, 3)).toBe(4);
    expect(t.find('\u00ff\u0000', 0, 2)).toBe(5);
    expect(t.find('ba', 0, 2)).toBeUndefined();
    expect(t.find('abcd', 0, 4)).toBeUndefined();
    expect(t.find('', 0, 0)).toBeUndefined();
    expect([0, 1, 2, 3, 4, 5].map((r) => t.length(r))).toEqual([1, 1, 2, 0, 3, 2]);
  });

  it('refuses a token twice', () => {
    expect(() => new RankTable(['a', 'b', 'a'])).toThrow(/rank 2 appears twice/);
  });

  it('maps every cl100k_base token back to its rank, and near misses to nothing', () => {
    const tokens = rankedTokens(cl100kBaseData);
    const table = new RankTable(tokens);
    const known = new Map(tokens.map((t, r) => [t, r]));
    expect(table.size).toBe(tokens.length);
    let misses = 0;
    for (let r = 0; r < tokens.length; r++) {
      const t = tokens[r];
      if (table.find(`<${t}>`, 1, t.length + 1) !== r) throw new Error(`rank ${r} not found`);
      expect(table.length(r)).toBe(t.length);
      // the token with a byte more is found only when that is a token too
      const longer = `${t}\u0007`;
      if (table.find(longer, 0, longer.length) !== known.get(longer)) throw new Error(`wrong answer for rank ${r} + 1 byte`);
      if (!known.has(longer)) misses++;
    }
    expect(misses).toBeGreaterThan(tokens.length / 2);
  });
});
