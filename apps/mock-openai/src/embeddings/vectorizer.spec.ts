import fc from 'fast-check';
import { base64ToFloat32, cosine, extractFeatures, float32ToBase64, fnv1a, vectorize } from './vectorizer';

const SMALL = 'text-embedding-3-small';

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function bytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Reference FNV-1a over bytes, checked against the published value for "a". */
function fnvBytes(data: Buffer): number {
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

describe('fnv1a', () => {
  it('is FNV-1a 32 over the UTF-16LE bytes of the text', () => {
    expect(fnvBytes(Buffer.from('a', 'latin1'))).toBe(0xe40c292c);
    for (const s of ['', 'a', 'hello world', 'naïve café', '日本語 🙂']) {
      expect(fnv1a(s)).toBe(fnvBytes(Buffer.from(s, 'utf16le')));
    }
  });
});

describe('vectorize', () => {
  it('gives bit-identical output for the same input', () => {
    const a = vectorize('The quick brown fox jumps over the lazy dog', SMALL, 1536);
    const b = vectorize('The quick brown fox jumps over the lazy dog', SMALL, 1536);
    expect(bytes(a).equals(bytes(b))).toBe(true);
  });

  it('returns unit vectors of the requested length for any non-empty text and dimension', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' }), fc.integer({ min: 1, max: 3072 }), (text, dims) => {
        const v = vectorize(text, SMALL, dims);
        expect(v).toHaveLength(dims);
        expect(v.every(Number.isFinite)).toBe(true);
        expect(Math.abs(norm(v) - 1)).toBeLessThan(1e-5);
        expect(bytes(vectorize(text, SMALL, dims)).equals(bytes(v))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('embeds punctuation-only and whitespace-only text too', () => {
    for (const text of ['!!!', ' ', '\n\t', '🙂']) expect(Math.abs(norm(vectorize(text, SMALL, 64)) - 1)).toBeLessThan(1e-5);
  });

  it('places similar sentences clearly closer than unrelated ones', () => {
    const cases: [string, string, string][] = [
      ['The cat sat on the mat.', 'A cat was sitting on the mat.', 'Quarterly revenue grew by 12 percent year over year.'],
      ['How do I reset my password?', 'Steps to reset a forgotten password', 'The weather in Paris is sunny today'],
      [
        'PostgreSQL vector search with an HNSW index',
        'HNSW indexes speed up vector search in Postgres',
        'My grandmother bakes apple pie on Sundays',
      ],
    ];
    for (const [anchor, similar, unrelated] of cases) {
      const a = vectorize(anchor, SMALL, 1536);
      const near = cosine(a, vectorize(similar, SMALL, 1536));
      const far = cosine(a, vectorize(unrelated, SMALL, 1536));
      expect(near).toBeGreaterThan(0.3);
      expect(far).toBeLessThan(0.15);
      expect(near - far).toBeGreaterThan(0.25);
    }
  });

  it('is insensitive to case and Unicode compatibility forms', () => {
    expect(cosine(vectorize('Hello World', SMALL, 256), vectorize('hello world', SMALL, 256))).toBeCloseTo(1, 6);
    expect(cosine(vectorize('ﬁle', SMALL, 256), vectorize('file', SMALL, 256))).toBeCloseTo(1, 6);
  });

  it('gives different vectors for different models', () => {
    const small = vectorize('hello world', SMALL, 1536);
    const ada = vectorize('hello world', 'text-embedding-ada-002', 1536);
    expect(bytes(small).equals(bytes(ada))).toBe(false);
    expect(Math.abs(cosine(small, ada))).toBeLessThan(0.5);
  });

  it('counts stop words less than content words', () => {
    const [unigrams] = extractFeatures('the cat');
    expect(unigrams.counts.get('the')).toBeLessThan(unigrams.counts.get('cat') ?? 0);
  });

  it('rejects non-positive dimensions', () => {
    expect(() => vectorize('x', SMALL, 0)).toThrow(RangeError);
  });
});

describe('float32 base64', () => {
  it('encodes little-endian float32 bytes', () => {
    expect(float32ToBase64(new Float32Array([1, -2]))).toBe(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'));
  });

  it('round-trips exactly', () => {
    const v = vectorize('round trip', SMALL, 512);
    expect(bytes(base64ToFloat32(float32ToBase64(v))).equals(bytes(v))).toBe(true);
  });
});
