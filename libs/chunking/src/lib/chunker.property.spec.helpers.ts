import fc from "fast-check";
import type { ChunkOptions } from "./chunker";
// Random markdown: headings, prose, lists, quotes, tables and long code fences, with words drawn from ASCII,
// CJK runs without spaces, emoji (ZWJ sequences, modifiers, flags), arbitrary code points and huge "words".
const asciiWord = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
const cjkRun = fc
  .array(fc.constantFrom('漢', '字', '日', '本', '語', '中', '文', '。', '、', 'の', 'は', '！'), { minLength: 1, maxLength: 300 })
  .map((a) => a.join(''));
const emoji = fc.constantFrom('😀', '👍🏽', '👩‍👩‍👧‍👦', '🇫🇷🇯🇵', 'é', 'ñ', 'Ω', '🏳️‍🌈', 'e\u0301');
const hugeWord = fc
  .tuple(fc.constantFrom('a', 'x7', 'Zq9/', '_', '漢字', '😀', '=', '👩‍👩‍👧‍👦'), fc.integer({ min: 100, max: 4000 }))
  .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)));
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
const word = fc.oneof(
  { weight: 60, arbitrary: asciiWord },
  { weight: 8, arbitrary: cjkRun },
  { weight: 8, arbitrary: emoji },
  { weight: 6, arbitrary: fc.constantFrom('.', '!', '?', ',', '—', '|', '#', '-', '*', '>', '```', '<|endoftext|>') },
  { weight: 1, arbitrary: hugeWord },
  { weight: 6, arbitrary: anyText },
);
const separator = fc.constantFrom(' ', ' ', ' ', ' ', '. ', '\n', '  ', '\t');
const words = (maxLength: number): fc.Arbitrary<string> =>
  fc.array(fc.tuple(word, separator), { minLength: 1, maxLength }).map((parts) => parts.map(([w, s]) => w + s).join(''));
const prose = words(60);
const line = words(10).map((l) => l.replace(/\n/g, ' '));
const heading = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.array(asciiWord, { maxLength: 6 }))
  .map(([level, ws]) => `${'#'.repeat(level)} ${ws.join(' ')}`);
const code = fc
  .tuple(fc.constantFrom('```', '~~~', '````'), fc.array(fc.oneof(line, fc.constant('')), { maxLength: 120 }))
  .map(([fence, lines]) => `${fence}js\n${lines.join('\n')}\n${fence}`);
const table = fc
  .array(fc.tuple(line, line), { minLength: 1, maxLength: 30 })
  .map((rows) => ['| a | b |', '|---|---|', ...rows.map(([x, y]) => `| ${x} | ${y} |`)].join('\n'));
const list = fc
  .array(fc.tuple(fc.constantFrom('- ', '* ', '1. ', '  - '), words(20)), { minLength: 1, maxLength: 15 })
  .map((items) => items.map(([m, p]) => m + p).join('\n'));
const quote = prose.map((p) => `> ${p}`);
const block = fc.oneof(
  { weight: 3, arbitrary: heading },
  { weight: 6, arbitrary: prose },
  { weight: 2, arbitrary: code },
  { weight: 1, arbitrary: table },
  { weight: 2, arbitrary: list },
  { weight: 1, arbitrary: quote },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: hugeWord },
);
export const markdown = fc
  .tuple(fc.array(block, { maxLength: 14 }), fc.constantFrom('\n\n', '\n', '\r\n\r\n', '\n\n\n\n'))
  .map(([blocks, sep]) => blocks.join(sep));

export const options = fc
  .record({
    maxTokens: fc.oneof(fc.integer({ min: 8, max: 40 }), fc.integer({ min: 41, max: 600 })),
    hardMaxTokens: fc.oneof(fc.constant(8191), fc.integer({ min: 8, max: 300 })),
    overlapRatio: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
  })
  .map(({ maxTokens, hardMaxTokens, overlapRatio }): ChunkOptions => {
    const budget = Math.min(maxTokens, hardMaxTokens);
    const maxOverlap = Math.min(64, Math.ceil(budget / 2) - 1);
    return { documentId: 'doc', maxTokens, hardMaxTokens, overlapTokens: Math.floor(overlapRatio * maxOverlap) };
  });

