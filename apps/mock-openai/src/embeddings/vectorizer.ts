/**
 * Deterministic text embeddings by feature hashing ("hashing trick"):
 * lowercased word unigrams, word bigrams and character trigrams of words are each counted,
 * weighted with sublinear term frequency (1 + ln tf), normalised per feature group, hashed with
 * a signed 32-bit FNV-1a (seeded with the model name) into the output dimension, and the sum is
 * L2-normalised. Texts that share words and word pieces get a high cosine similarity; unrelated
 * texts are close to orthogonal. The same (text, model, dimensions) always gives the same bits.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units (each unit fed as two bytes), continuing from `hash`. */
export function fnv1a(text: string, hash: number = FNV_OFFSET): number {
  let h = hash >>> 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    h = Math.imul(h ^ (unit & 0xff), FNV_PRIME) >>> 0;
    h = Math.imul(h ^ (unit >>> 8), FNV_PRIME) >>> 0;
  }
  return h;
}

/** murmur3's 32-bit finaliser: spreads FNV's weak low bits before they pick index and sign. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** Frequent English function words count a quarter: they say little about what a text is about. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for from has have he her his i in is it its of on or our she so that the their them ' +
    'they this to was we were what when which who will with you your'
  ).split(' '),
);

interface FeatureGroup {
  tag: string;
  weight: number;
  counts: Map<string, number>;
}

function add(counts: Map<string, number>, feature: string, amount = 1): void {
  counts.set(feature, (counts.get(feature) ?? 0) + amount);
}

/** The weighted features of a text, by group (exported for tests). */
export function extractFeatures(text: string): FeatureGroup[] {
  const normalized = text.normalize('NFKC').toLowerCase();
  const words = normalized.match(WORD) ?? [];
  const unigrams = new Map<string, number>();
  const bigrams = new Map<string, number>();
  const trigrams = new Map<string, number>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    add(unigrams, w, STOP_WORDS.has(w) ? 0.25 : 1);
    if (i > 0) add(bigrams, `${words[i - 1]} ${w}`);
    const padded = `<${w}>`;
    for (let j = 0; j + 3 <= padded.length; j++) add(trigrams, padded.slice(j, j + 3));
  }
  if (words.length === 0) {
    // No letters or digits (punctuation, symbols, whitespace): fall back to trigrams of the raw text.
    const padded = `<${normalized.replace(/\s+/g, ' ')}>`;
    for (let j = 0; j + 3 <= padded.length; j++) add(trigrams, padded.slice(j, j + 3));
  }
  return [
    { tag: 'w', weight: 1, counts: unigrams },
    { tag: 'b', weight: 0.5, counts: bigrams },
    { tag: 'c', weight: 0.6, counts: trigrams },
  ];
}

/** Sublinear term frequency; stop-word counts below 1 stay proportional. */
function tf(count: number): number {
  return count >= 1 ? 1 + Math.log(count) : count;
}

/** Embeds `text` for `model` into `dimensions` float32 values with L2 norm 1. */
export function vectorize(text: string, model: string, dimensions: number): Float32Array {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
  const seed = fnv1a(`${model}\u0000`);
  const acc = new Float64Array(dimensions);
  for (const group of extractFeatures(text)) {
    let sumSquares = 0;
    for (const c of group.counts.values()) sumSquares += tf(c) ** 2;
    if (sumSquares === 0) continue;
    const scale = group.weight / Math.sqrt(sumSquares);
    const groupSeed = fnv1a(`${group.tag}\u0001`, seed);
    for (const [feature, count] of group.counts) {
      const h = fmix32(fnv1a(feature, groupSeed));
      const index = h % dimensions;
      const sign = fmix32(h ^ 0x9e3779b9) & 1 ? 1 : -1;
      acc[index] += sign * tf(count) * scale;
    }
  }
  let sumSquares = 0;
  for (let i = 0; i < dimensions; i++) sumSquares += acc[i] * acc[i];
  let norm = Math.sqrt(sumSquares);
  if (norm === 0) {
    // Every feature cancelled out (tiny dimensions): a stable one-hot vector instead.
    acc[fmix32(fnv1a(text, seed)) % dimensions] = 1;
    norm = 1;
  }
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = acc[i] / norm;
  return out;
}

/** Cosine similarity of two equal-length vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError('vectors differ in length');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Little-endian float32 bytes, base64 — OpenAI's `encoding_format: "base64"`. */
export function float32ToBase64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * 4);
  return bytes.toString('base64');
}

/** The inverse of float32ToBase64. */
export function base64ToFloat32(encoded: string): Float32Array {
  const bytes = Buffer.from(encoded, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
