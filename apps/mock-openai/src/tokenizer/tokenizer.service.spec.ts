import { TokenizerService } from './tokenizer.service';

describe('TokenizerService (cl100k_base)', () => {
  const tokenizer = new TokenizerService();
  beforeAll(() => tokenizer.onModuleInit());

  it('is ready once loaded', () => {
    expect(tokenizer.isReady()).toBe(true);
  });

  it.each([
    ['hello world', 2],
    ['', 0],
    ['tiktoken is great!', 6],
    ['antidisestablishmentarianism', 6],
    ['2 + 2 = 4', 7],
    ['お誕生日おめでとう', 9],
  ])('counts %j as %i tokens, as OpenAI does', (text, count) => {
    expect(tokenizer.count(text)).toBe(count);
  });

  it('produces the known cl100k ids', () => {
    expect(tokenizer.encode('hello world')).toEqual([15339, 1917]);
    expect(tokenizer.encode('tiktoken is great!')).toEqual([83, 1609, 5963, 374, 2294, 0]);
    expect(tokenizer.encode('antidisestablishmentarianism')).toEqual([519, 85342, 34500, 479, 8997, 2191]);
    expect(tokenizer.encode('2 + 2 = 4')).toEqual([17, 489, 220, 17, 284, 220, 19]);
  });

  it('treats special-token text as ordinary text instead of throwing', () => {
    expect(tokenizer.count('<|endoftext|>')).toBe(7);
  });

  it('decodes what it encodes', () => {
    const text = 'Ünïcödé, emoji 🙂 and code: const x = 1;';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('knows which token ids exist', () => {
    for (const id of [0, 15339, 100255, 100257, 100276]) expect(tokenizer.isValidToken(id)).toBe(true);
    for (const id of [-1, 1.5, 100256, 100261, 100277, 10 ** 9]) expect(tokenizer.isValidToken(id)).toBe(false);
  });
});
