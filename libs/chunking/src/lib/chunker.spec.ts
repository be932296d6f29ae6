import { createHash } from 'node:crypto';
import { v5 as uuidv5, validate as uuidValidate, version as uuidVersion } from 'uuid';
import { type Chunk, CHUNK_ID_NAMESPACE, chunkMarkdown, makeChunkId } from './chunker';
import { normalizeMarkdown } from './normalize';
import { countTokens } from './tokenizer';

const words = (n: number, seed = 1): string => {
  const vocab = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'theta', 'kappa', 'lambda', 'sigma'];
  return Array.from({ length: n }, (_, i) => vocab[(i * 7 + seed) % vocab.length]).join(' ');
};
const sentences = (n: number, len = 12): string =>
  Array.from({ length: n }, (_, i) => `Sentence ${i} says ${words(len, i)}.`).join(' ');
const noWhitespace = (s: string): string => s.replace(/\s+/g, '');
const cores = (chunks: Chunk[]): string[] => chunks.map((c) => c.text.slice(c.overlapChars));

describe('chunkMarkdown: markdown structure', () => {
  it('carries the heading path and starts a chunk at every heading with content', () => {
    const md = [
      '# Guide',
      'Intro text.',
      '## Install',
      'Run the installer.',
      '### Linux',
      'Use apt.',
      '## Usage',
      'Call it.',
      '# Appendix',
      'The end.',
    ].join('\n\n');
    const chunks = chunkMarkdown(md, { documentId: 'doc', maxTokens: 512 });
    expect(chunks.map((c) => [c.text, c.headingPath])).toEqual([
      ['# Guide\n\nIntro text.', ['Guide']],
      ['## Install\n\nRun the installer.', ['Guide', 'Install']],
      ['### Linux\n\nUse apt.', ['Guide', 'Install', 'Linux']],
      ['## Usage\n\nCall it.', ['Guide', 'Usage']],
      ['# Appendix\n\nThe end.', ['Appendix']],
    ]);
  });

  it('keeps a heading without content of its own together with the next section', () => {
    const chunks = chunkMarkdown('# Title\n\n## Part A\n\nText A.\n\n## Part B\n\nText B.', {
      documentId: 'd',
    });
    expect(chunks.map((c) => [c.text, c.headingPath])).toEqual([
      ['# Title\n\n## Part A\n\nText A.', ['Title', 'Part A']],
      ['## Part B\n\nText B.', ['Title', 'Part B']],
    ]);
  });

  it('gives text before the first heading an empty path and reads setext headings', () => {
    const chunks = chunkMarkdown('Preamble.\n\nChapter\n=======\n\nBody.', { documentId: 'd' });
    expect(chunks.map((c) => c.headingPath)).toEqual([[], ['Chapter']]);
  });

  it('carries the section path into every chunk of a long section', () => {
    const md = `# Top\n\n## Long\n\n${Array.from({ length: 30 }, (_, i) => `Paragraph ${i}: ${words(30, i)}.`).join('\n\n')}`;
    const chunks = chunkMarkdown(md, { documentId: 'd', maxTokens: 100 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.headingPath).toEqual(['Top', 'Long']);
    expect(chunks[0].text.startsWith('# Top\n\n## Long\n\nParagraph 0')).toBe(true);
  });

  it('merges small neighbouring blocks up to the budget', () => {
    const md = Array.from({ length: 20 }, (_, i) => `Short paragraph ${i}.`).join('\n\n');
    const chunks = chunkMarkdown(md, { documentId: 'd', maxTokens: 40 });
    expect(chunks.length).toBeLessThan(20);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(40);
    expect(noWhitespace(cores(chunks).join(''))).toBe(noWhitespace(md));
  });

  it('keeps a fenced code block whole when it fits, starting a new chunk if needed', () => {
    const code =
      '```ts\n' + Array.from({ length: 8 }, (_, i) => `const v${i} = compute(${i});`).join('\n') + '\n```';
    const md = `${sentences(3)}\n\n${code}\n\n${sentences(2)}`;
    const budget = countTokens(code) + 5;
    const chunks = chunkMarkdown(md, { documentId: 'd', maxTokens: budget });
    expect(chunks.filter((c) => c.text.includes(code))).toHaveLength(1);
    expect(chunks.filter((c) => c.text.includes('```'))).toHaveLength(1);
  });

  it('splits a code block larger than the budget between lines', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `print("line ${i}")`);
    const md = '```python\n' + lines.join('\n') + '\n```';
    const chunks = chunkMarkdown(md, { documentId: 'd', maxTokens: 50 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(50);
      for (const l of c.text.split('\n')) expect(['```python', '```', ...lines]).toContain(l);
    }
  });

  it('keeps a table whole when it fits and splits an oversized one between rows', () => {
    const rows = Array.from({ length: 12 }, (_, i) => `| row ${i} | ${words(3, i)} |`);
    const table = ['| name | value |', '| --- | --- |', ...rows].join('\n');
    const md = `${sentences(2)}\n\n${table}\n\n${sentences(2)}`;
    const fits = chunkMarkdown(md, { documentId: 'd', maxTokens: countTokens(table) + 2 });
    expect(fits.filter((c) => c.text.includes(table))).toHaveLength(1);

    const split = chunkMarkdown(table, { documentId: 'd', maxTokens: 40 });
    expect(split.length).toBeGreaterThan(2);
    for (const c of split) for (const l of c.text.split('\n')) expect(table.split('\n')).toContain(l);
  });

  it('splits lists between items', () => {
    const items = Array.from({ length: 30 }, (_, i) => `- item ${i}: ${words(6, i)}`);
    const chunks = chunkMarkdown(`Shopping list:\n\n${items.join('\n')}`, { documentId: 'd', maxTokens: 40 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks.slice(1)) {
      expect(c.text.startsWith('- item ')).toBe(true);
      for (const l of c.text.split('\n')) expect(items).toContain(l);
    }
  });

  it('splits an oversized paragraph at sentence ends', () => {
    const para = sentences(40);
    const chunks = chunkMarkdown(para, { documentId: 'd', maxTokens: 64 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(64);
      expect(c.text).toMatch(/^Sentence \d+ says .*\.$/s);
    }
  });

  it('splits CJK prose at its sentence stops', () => {
    const para = Array.from({ length: 60 }, (_, i) => `これは日本語の文章の例です第${i}番。`).join('');
    const chunks = chunkMarkdown(para, { documentId: 'd', maxTokens: 48 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(48);
      expect(c.text.endsWith('。')).toBe(true);
    }
    expect(chunks.map((c) => c.text).join('')).toBe(para);
  });

  it('splits a sentence without stops by words', () => {
    const sentence = words(400);
    const chunks = chunkMarkdown(sentence, { documentId: 'd', maxTokens: 30 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(30);
      for (const w of c.text.split(' '))
        expect([
          'alpha',
          'beta',
          'gamma',
          'delta',
          'epsilon',
          'zeta',
          'theta',
          'kappa',
          'lambda',
          'sigma',
        ]).toContain(w);
    }
    expect(chunks.map((c) => c.text).join(' ')).toBe(sentence);
  });

  it('hard-splits a huge word by grapheme clusters as the last resort', () => {
    const family = '👩‍👩‍👧‍👦';
    const word = `${'x7Q'.repeat(2000)}${family.repeat(50)}${'漢字'.repeat(500)}`;
    const chunks = chunkMarkdown(`before ${word} after`, { documentId: 'd', maxTokens: 64 });
    expect(chunks.length).toBeGreaterThan(20);
    for (const c of chunks) {
      expect(c.tokenCount).toBeLessThanOrEqual(64);
      expect(c.tokenCount).toBe(countTokens(c.text));
      expect(c.text).not.toMatch(/^\u200d|\u200d$/); // never cut inside the ZWJ family emoji
    }
    expect(noWhitespace(chunks.map((c) => c.text).join(''))).toBe(noWhitespace(`before ${word} after`));
  });

  it('never exceeds hardMaxTokens even when maxTokens is larger', () => {
    const chunks = chunkMarkdown(sentences(200), { documentId: 'd', maxTokens: 10000, hardMaxTokens: 120 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(120);
  });

  it('emits no chunk for empty or whitespace-only input', () => {
    expect(chunkMarkdown('', { documentId: 'd' })).toEqual([]);
    expect(chunkMarkdown(' \n\r\n\t\uFEFF\u0000 \n', { documentId: 'd' })).toEqual([]);
  });

  it('normalizes the input first: chunk texts are slices of normalizeMarkdown(markdown)', () => {
    const md = '\uFEFFTitre\r\n=====\r\n\r\n\r\n\r\nCafe\u0301   \r\nfin';
    const normalized = normalizeMarkdown(md);
    const chunks = chunkMarkdown(md, { documentId: 'd' });
    expect(chunks.map((c) => c.text)).toEqual([normalized]);
    expect(normalized).toBe('Titre\n=====\n\nCaf\u00e9\nfin');
  });
});

describe('chunkMarkdown: overlap', () => {
  it('repeats the previous tail within a section, never across a heading, within the budget', () => {
    const md = `# A\n\n${sentences(30)}\n\n# B\n\n${sentences(30)}`;
    const chunks = chunkMarkdown(md, { documentId: 'd', maxTokens: 80, overlapTokens: 16 });
    const withOverlap = chunks.filter((c) => c.overlapChars > 0);
    expect(withOverlap.length).toBeGreaterThan(4);
    for (const [k, c] of chunks.entries()) {
      expect(c.tokenCount).toBeLessThanOrEqual(80);
      expect(c.tokenCount).toBe(countTokens(c.text));
      if (c.text.slice(c.overlapChars).startsWith('# ')) expect(c.overlapChars).toBe(0);
      if (c.overlapChars > 0) {
        const repeated = c.text.slice(0, c.overlapChars).trimEnd();
        expect(chunks[k - 1].text.endsWith(repeated)).toBe(true);
        expect(countTokens(repeated)).toBeLessThanOrEqual(16);
      }
    }
    expect(noWhitespace(cores(chunks).join(''))).toBe(noWhitespace(md));
  });

  it('rejects invalid options', () => {
    expect(() => chunkMarkdown('x', { documentId: '' })).toThrow(TypeError);
    expect(() => chunkMarkdown('x', { documentId: 'd', chunker: '' })).toThrow(TypeError);
    expect(() => chunkMarkdown('x', { documentId: 'd', version: 0 })).toThrow(RangeError);
    expect(() => chunkMarkdown('x', { documentId: 'd', maxTokens: 7 })).toThrow(RangeError);
    expect(() => chunkMarkdown('x', { documentId: 'd', maxTokens: 100.5 })).toThrow(RangeError);
    expect(() => chunkMarkdown('x', { documentId: 'd', overlapTokens: 65 })).toThrow(RangeError);
    expect(() => chunkMarkdown('x', { documentId: 'd', maxTokens: 20, overlapTokens: 10 })).toThrow(
      RangeError,
    );
    expect(() => chunkMarkdown('x', { documentId: 'd', overlapTokens: -1 })).toThrow(RangeError);
  });
});

describe('chunkMarkdown: ids, hashes, determinism', () => {
  const md = `# Doc\n\n${sentences(60)}`;

  it('derives chunkId as UUIDv5 of "{documentId}:{chunker}:{version}:{ord}" in the fixed namespace', () => {
    expect(CHUNK_ID_NAMESPACE).toBe('6e76fc9e-be58-4af2-8b4b-cf6c7cc4f974');
    const chunks = chunkMarkdown(md, {
      documentId: 'doc-42',
      chunker: 'md-token',
      version: 3,
      maxTokens: 100,
    });
    for (const c of chunks) {
      expect(c.chunkId).toBe(uuidv5(`doc-42:md-token:3:${c.ord}`, CHUNK_ID_NAMESPACE));
      expect(uuidValidate(c.chunkId) && uuidVersion(c.chunkId)).toBe(5);
    }
    // A known value (cross-checked with Python's uuid.uuid5), pinned so that the namespace or the name format cannot drift unnoticed.
    expect(makeChunkId('00000000-0000-4000-8000-000000000001', 'md-token', 1, 0)).toBe(
      uuidv5('00000000-0000-4000-8000-000000000001:md-token:1:0', '6e76fc9e-be58-4af2-8b4b-cf6c7cc4f974'),
    );
    expect(makeChunkId('00000000-0000-4000-8000-000000000001', 'md-token', 1, 0)).toBe(
      'c17e0ec1-b518-5252-91d9-d3b7e1c9df1e',
    );
  });

  it('uses the defaults md-token / 1 / 512 tokens', () => {
    const chunks = chunkMarkdown(md, { documentId: 'd' });
    for (const c of chunks) {
      expect([c.chunker, c.version]).toEqual(['md-token', 1]);
      expect(c.tokenCount).toBeLessThanOrEqual(512);
    }
    expect(chunks.length).toBeGreaterThan(1);
  });

  it('is deterministic and gives distinct ids per position, document, chunker and version', () => {
    const a = chunkMarkdown(md, { documentId: 'd1', maxTokens: 100 });
    expect(chunkMarkdown(md, { documentId: 'd1', maxTokens: 100 })).toEqual(a);
    expect(a.map((c) => c.ord)).toEqual(a.map((_, i) => i));
    const ids = [
      ...a.map((c) => c.chunkId),
      ...chunkMarkdown(md, { documentId: 'd2', maxTokens: 100 }).map((c) => c.chunkId),
      ...chunkMarkdown(md, { documentId: 'd1', maxTokens: 100, chunker: 'other' }).map((c) => c.chunkId),
      ...chunkMarkdown(md, { documentId: 'd1', maxTokens: 100, version: 2 }).map((c) => c.chunkId),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sets chunkSha to the sha256 hex of the text and tokenCount to its cl100k_base count', () => {
    for (const c of chunkMarkdown(md, { documentId: 'd', maxTokens: 100 })) {
      expect(c.chunkSha).toBe(createHash('sha256').update(c.text, 'utf8').digest('hex'));
      expect(c.tokenCount).toBe(countTokens(c.text));
    }
  });

  it('uses a custom token counter when given', () => {
    const chars = (s: string): number => s.length;
    const chunks = chunkMarkdown(`${sentences(20)}\n\n${'y'.repeat(300)}`, {
      documentId: 'd',
      maxTokens: 50,
      countTokens: chars,
    });
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(50);
      expect(c.tokenCount).toBe(c.text.length);
    }
    expect(() => chunkMarkdown('abc', { documentId: 'd', maxTokens: 8, countTokens: () => 9 })).toThrow(
      RangeError,
    );
  });
});
