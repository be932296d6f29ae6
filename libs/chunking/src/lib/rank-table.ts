import type { TiktokenBPE } from 'js-tiktoken/lite';

/**
 * The byte-pair ranks of a tiktoken encoding in typed arrays: every token's bytes in one buffer, and an
 * open-addressing hash table (FNV-1a over the bytes, linear probing) from bytes to rank. Looked up with a range of a
 * latin1 string (one char per byte), so a merge does not allocate a substring for every pair it tries.
 *
 * A Map from 100,256 latin1 strings to ranks held ~7 MiB of the worker's heap (a string a token, the map's table);
 * this holds ~2.3 MiB, mostly outside the JavaScript heap.
 */
export class RankTable {
  /** Every token's bytes, concatenated in rank order. */
  private readonly bytes: Uint8Array;
  /** `start[r]` .. `start[r + 1]`: the bytes of rank r. */
  private readonly start: Uint32Array;
  /** rank + 1 per slot, 0 when empty; the size a power of two, at most half full. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  /** `tokens[r]`: the bytes of rank r as a latin1 string (holes allowed: ranks that are not used). */
  constructor(tokens: readonly (string | undefined)[]) {
    let total = 0;
    for (const t of tokens) total += t?.length ?? 0;
    this.bytes = new Uint8Array(total);
    this.start = new Uint32Array(tokens.length + 1);
    let size = 1;
    while (size < tokens.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    let at = 0;
    for (let r = 0; r < tokens.length; r++) {
      this.start[r] = at;
      const t = tokens[r];
      if (t === undefined) continue;
      for (let i = 0; i < t.length; i++) this.bytes[at++] = t.charCodeAt(i);
      if (this.find(t, 0, t.length) !== undefined) throw new Error(`rank table: token of rank ${r} appears twice`);
      let slot = hash(t, 0, t.length) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = r + 1;
    }
    this.start[tokens.length] = at;
  }

  /** Number of ranks (the highest rank + 1). */
  get size(): number {
    return this.start.length - 1;
  }

  /** Byte length of rank r's token. */
  length(rank: number): number {
    return this.start[rank + 1] - this.start[rank];
  }

  /** The rank of the bytes `s[from..to)` (a latin1 string), or undefined when they are not a token. */
  find(s: string, from: number, to: number): number | undefined {
    const n = to - from;
    let slot = hash(s, from, to) & this.mask;
    for (;;) {
      const r = this.slots[slot] - 1;
      if (r < 0) return undefined;
      const b = this.start[r];
      if (this.start[r + 1] - b === n) {
        let i = 0;
        while (i < n && this.bytes[b + i] === s.charCodeAt(from + i)) i++;
        if (i === n) return r;
      }
      slot = (slot + 1) & this.mask;
    }
  }
}

/** FNV-1a, 32 bits, over the char codes of `s[from..to)`. */
function hash(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The tokens of a js-tiktoken rank file by rank, as latin1 strings (one char per byte). */
export function rankedTokens(data: TiktokenBPE): string[] {
  // Lines are "<marker> <first rank> <base64 token> <base64 token> ...", ranks consecutive.
  const tokens: string[] = [];
  for (const line of data.bpe_ranks.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const offset = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++) tokens[offset + i - 2] = Buffer.from(fields[i], 'base64').toString('latin1');
  }
  return tokens;
}
