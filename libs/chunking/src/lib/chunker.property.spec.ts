import fc from 'fast-check';
import { type Chunk, chunkMarkdown, type ChunkOptions } from './chunker';
import { normalizeMarkdown } from './normalize';
import { countTokens } from './tokenizer';

// Random markdown: headings, prose, lists, quotes, tables and long code fences, with words drawn from ASCII,
// CJK runs without spaces, emoji (ZWJ sequences, modifiers, flags), arbitrary code points and huge "words".
const asciiWord = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
const cjkRun = fc
  .array(fc.constantFrom('漢', '字', '日', '本', '語', '中', '文', '。', '、', 'の', 'は', '！'), {
    minLength: 1,
    maxLength: 300,
  })
  .map((a) => a.join(''));
const emoji = fc.constantFrom('😀', '👍🏽', '👩‍👩‍👧‍👦', '🇫🇷🇯🇵', 'é', 'ñ', 'Ω', '🏳️‍🌈', 'e\u0301');
const hugeWord = fc
  .tuple(
    fc.constantFrom('a', 'x7', 'Zq9/', '_', '漢字', '😀', '=', '👩‍👩‍👧‍👦'),
    fc.integer({ min: 100, max: 4000 }),
  )
  .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)));
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
const word = fc.oneof(
  { weight: 60, arbitrary: asciiWord },
  { weight: 8, arbitrary: cjkRun },
  { weight: 8, arbitrary: emoji },
  {
    weight: 6,
    arbitrary: fc.constantFrom('.', '!', '?', ',', '—', '|', '#', '-', '*', '>', '```', '<|endoftext|>'),
  },
  { weight: 1, arbitrary: hugeWord },
  { weight: 6, arbitrary: anyText },
);
const separator = fc.constantFrom(' ', ' ', ' ', ' ', '. ', '\n', '  ', '\t');
const words = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(word, separator), { minLength: 1, maxLength })
    .map((parts) => parts.map(([w, s]) => w + s).join(''));
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
const markdown = fc
  .tuple(fc.array(block, { maxLength: 14 }), fc.constantFrom('\n\n', '\n', '\r\n\r\n', '\n\n\n\n'))
  .map(([blocks, sep]) => blocks.join(sep));

const options = fc
  .record({
    maxTokens: fc.oneof(fc.integer({ min: 8, max: 40 }), fc.integer({ min: 41, max: 600 })),
    hardMaxTokens: fc.oneof(fc.constant(8191), fc.integer({ min: 8, max: 300 })),
    overlapRatio: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
  })
  .map(({ maxTokens, hardMaxTokens, overlapRatio }): ChunkOptions => {
    const budget = Math.min(maxTokens, hardMaxTokens);
    const maxOverlap = Math.min(64, Math.ceil(budget / 2) - 1);
    return {
      documentId: 'doc',
      maxTokens,
      hardMaxTokens,
      overlapTokens: Math.floor(overlapRatio * maxOverlap),
    };
  });

const RUNS = { numRuns: 200 };
const core = (c: Chunk): string => c.text.slice(c.overlapChars);
/** Plain assertion: jest's expect() per chunk and per word costs more than the chunking itself. */
const check = (ok: boolean, message: () => string): void => {
  if (!ok) throw new Error(message());
};

describe('chunkMarkdown properties', () => {
  it('never emits a chunk above maxTokens or hardMaxTokens, and reports exact token counts', () => {
    fc.assert(
      fc.property(markdown, options, (md, opts) => {
        const limit = Math.min(opts.maxTokens ?? 512, opts.hardMaxTokens ?? 8191);
        for (const c of chunkMarkdown(md, opts)) {
          check(c.tokenCount <= limit, () => `chunk ${c.ord} has ${c.tokenCount} tokens > ${limit}`);
          const exact = countTokens(c.text);
          check(
            c.tokenCount === exact,
            () => `chunk ${c.ord} reports ${c.tokenCount} tokens, measures ${exact}`,
          );
        }
      }),
      RUNS,
    );
  }, 300000);

  it('emits no blank chunk and keeps all non-whitespace content, in order, as slices of the normalized input', () => {
    fc.assert(
      fc.property(markdown, options, (md, opts) => {
        const normalized = normalizeMarkdown(md);
        const chunks = chunkMarkdown(md, opts);
        const cores = chunks.map(core);
        let at = 0;
        for (const [i, c] of chunks.entries()) {
          check(c.text.length > 0 && c.text.trim() === c.text, () => `chunk ${i} is blank or not trimmed`);
          check(
            cores[i].length > 0 && cores[i].trim() === cores[i],
            () => `core ${i} is blank or not trimmed`,
          );
          const pos = normalized.indexOf(cores[i], at); // each core is a slice, after the previous one
          check(pos >= at, () => `core ${i} is not a slice after core ${i - 1}`);
          at = pos + cores[i].length;
        }
        // Every word of the input appears whole in some chunk (overlap excluded), in order — except words that
        // alone exceed the budget (hard-split, last resort) or contain a CJK sentence stop (split there).
        const budget =
          Math.min(opts.maxTokens ?? 512, opts.hardMaxTokens ?? 8191) - (opts.overlapTokens ?? 0);
        let k = 0;
        let pos = 0;
        for (const w of normalized.split(/\s+/)) {
          if (w.length === 0 || /[。！？]/.test(w) || countTokens(w) > budget) continue;
          while (k < cores.length) {
            const idx = cores[k].indexOf(w, pos);
            if (idx !== -1) {
              pos = idx + w.length;
              break;
            }
            k++;
            pos = 0;
          }
          check(k < cores.length, () => `word ${JSON.stringify(w)} missing or out of order`);
        }
        // And nothing is lost or added: the chunks hold exactly the input's non-whitespace characters.
        expect(cores.join('').replace(/\s+/g, '')).toBe(normalized.replace(/\s+/g, ''));
      }),
      RUNS,
    );
  }, 300000);

  it('is deterministic, with ords 0..n-1 and distinct ids', () => {
    fc.assert(
      fc.property(markdown, options, (md, opts) => {
        const a = chunkMarkdown(md, opts);
        expect(JSON.stringify(chunkMarkdown(md, opts))).toBe(JSON.stringify(a));
        expect(a.map((c) => c.ord)).toEqual(a.map((_, i) => i));
        expect(new Set(a.map((c) => c.chunkId)).size).toBe(a.length);
      }),
      RUNS,
    );
  }, 300000);

  it('holds the bound for any deterministic counter (characters here)', () => {
    fc.assert(
      fc.property(markdown, fc.integer({ min: 8, max: 200 }), (md, maxTokens) => {
        const chunks = chunkMarkdown(md, { documentId: 'doc', maxTokens, countTokens: (s) => s.length });
        for (const c of chunks)
          check(c.text.length <= maxTokens, () => `chunk ${c.ord} has ${c.text.length} chars`);
        expect(chunks.map(core).join('').replace(/\s+/g, '')).toBe(normalizeMarkdown(md).replace(/\s+/g, ''));
      }),
      RUNS,
    );
  }, 300000);
});
