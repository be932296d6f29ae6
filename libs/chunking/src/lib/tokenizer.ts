import type { TiktokenBPE } from 'js-tiktoken/lite';
import cl100kBaseData from 'js-tiktoken/ranks/cl100k_base';
import { rankedTokens, RankTable } from './rank-table';

/** Counts the tokens of a text. Must be deterministic. */
export type TokenCounter = (text: string) => number;

const CL100K_BASE: TiktokenBPE = cl100kBaseData;

/** Pieces up to this many bytes are merged by rescanning (see mergeSmallPiece), longer ones with a heap. */
const SMALL_PIECE = 48;

/** Multi-token pieces up to this many bytes have their counts cached... */
const CACHED_PIECE_BYTES = 64;
/** ...in a map of at most this many entries (a few MB). */
const PIECE_CACHE_ENTRIES = 50_000;

/** 2^32: heap keys are `rank * 2^32 + partStart` (rank < 2^17, so keys stay exact doubles). */
const KEY_SHIFT = 4294967296;

/**
 * cl100k_base byte-pair encoder over the rank table shipped in js-tiktoken (`js-tiktoken/ranks/cl100k_base`,
 * nothing downloads). It produces exactly the tokens of js-tiktoken's `Tiktoken#encode(text, [], [])`
 * (special-token strings such as `<|endoftext|>` are encoded as ordinary text, which never under-counts),
 * but merges each regex piece with a priority queue, O(n log n), instead of js-tiktoken's O(n^2) rescan:
 * js-tiktoken needs ~7 s for 4,000 CJK characters without spaces, which a parsed PDF easily contains.
 */
class Cl100kEncoder {
  private readonly ranks: RankTable;
  /** Token counts of recently seen multi-token pieces (bounded: cleared when full). */
  private readonly pieceCounts = new Map<string, number>();
  private readonly pattern: RegExp;

  constructor(data: TiktokenBPE) {
    this.pattern = new RegExp(data.pat_str, 'gu');
    this.ranks = new RankTable(rankedTokens(data));
  }

  count(text: string): number {
    return this.run(text, null);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.run(text, out);
    return out;
  }

  private run(text: string, out: number[] | null): number {
    const re = this.pattern;
    re.lastIndex = 0;
    let n = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const piece = m[0];
      if (piece.length === 0) {
        re.lastIndex++; // defensive: the cl100k pattern never matches empty
        continue;
      }
      const bytes = isAscii(piece) ? piece : Buffer.from(piece, 'utf8').toString('latin1');
      const rank = this.ranks.find(bytes, 0, bytes.length);
      if (rank !== undefined) {
        n++;
        out?.push(rank);
      } else if (out === null && bytes.length <= CACHED_PIECE_BYTES) {
        // Words repeat (Zipf): remember the counts of short pieces that are not a single token.
        let c = this.pieceCounts.get(bytes);
        if (c === undefined) {
          c = this.mergePiece(bytes, null);
          if (this.pieceCounts.size >= PIECE_CACHE_ENTRIES) this.pieceCounts.clear();
          this.pieceCounts.set(bytes, c);
        }
        n += c;
      } else {
        n += this.mergePiece(bytes, out);
      }
    }
    return n;
  }

  /**
   * Byte-pair merge of one piece (a latin1 string, one char per byte): repeatedly merge the adjacent pair
   * whose concatenation has the lowest rank, leftmost first on ties — the same order as tiktoken.
   * Parts are a linked list keyed by start offset. A heap entry (rank, start) is stale once the pair starting
   * at `start` has changed; pairs there only ever grow, and a rank names exactly one byte string, so the entry
   * is current exactly when that pair's byte length still equals the length of the rank's token.
   */
  private mergePiece(bytes: string, out: number[] | null): number {
    const len = bytes.length;
    if (len <= SMALL_PIECE) return this.mergeSmallPiece(bytes, out);
    const next = new Int32Array(len);
    const prev = new Int32Array(len);
    const alive = new Uint8Array(len).fill(1);
    for (let i = 0; i < len; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap();
    const pairRank = (start: number): number | undefined => {
      const mid = next[start];
      if (mid >= len) return undefined;
      return this.ranks.find(bytes, start, next[mid]);
    };
    const pushPair = (start: number): void => {
      const r = pairRank(start);
      if (r !== undefined) heap.push(r * KEY_SHIFT + start);
    };
    for (let i = 0; i + 1 < len; i++) pushPair(i);

    let parts = len;
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / KEY_SHIFT);
      const start = key - rank * KEY_SHIFT;
      if (alive[start] === 0) continue;
      const mid = next[start];
      if (mid >= len) continue;
      const end = next[mid];
      if (end - start !== this.ranks.length(rank)) continue;
      alive[mid] = 0;
      next[start] = end;
      if (end < len) prev[end] = start;
      parts--;
      pushPair(start);
      if (prev[start] >= 0) pushPair(prev[start]);
    }

    if (out) {
      for (let i = 0; i < len; i = next[i]) {
        const r = this.ranks.find(bytes, i, next[i]);
        if (r === undefined) throw new Error('cl100k_base: unranked byte sequence'); // every single byte is ranked
        out.push(r);
      }
    }
    return parts;
  }

  /** The same merge by rescanning a rank array (tiktoken's own loop): faster than the heap for short pieces. */
  private mergeSmallPiece(bytes: string, out: number[] | null): number {
    const starts: number[] = [];
    for (let i = 0; i <= bytes.length; i++) starts.push(i);
    const rankAt = (i: number): number =>
      i + 2 < starts.length ? (this.ranks.find(bytes, starts[i], starts[i + 2]) ?? Infinity) : Infinity;
    const pairRanks: number[] = [];
    for (let i = 0; i + 1 < starts.length; i++) pairRanks.push(rankAt(i));
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < pairRanks.length; i++) {
        if (pairRanks[i] < best) {
          best = pairRanks[i];
          at = i;
        }
      }
      if (at === -1) break;
      starts.splice(at + 1, 1);
      pairRanks.splice(at + 1, 1);
      pairRanks[at] = rankAt(at);
      if (at > 0) pairRanks[at - 1] = rankAt(at - 1);
    }
    if (out) {
      for (let i = 0; i + 1 < starts.length; i++) {
        const r = this.ranks.find(bytes, starts[i], starts[i + 1]);
        if (r === undefined) throw new Error('cl100k_base: unranked byte sequence');
        out.push(r);
      }
    }
    return starts.length - 1;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Minimal binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    let i = a.length;
    a.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as number;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

let cached: Cl100kEncoder | undefined;

/** The process-wide encoder, built on first use (~0.1 s) and cached. */
function encoder(): Cl100kEncoder {
  cached ??= new Cl100kEncoder(CL100K_BASE);
  return cached;
}

/** Number of cl100k_base tokens in `text` (the tokenizer of OpenAI's text-embedding-3-* / ada-002 models). */
export function countTokens(text: string): number {
  return encoder().count(text);
}

/** cl100k_base token ids of `text`, identical to js-tiktoken's `encode(text, [], [])`. */
export function encodeTokens(text: string): number[] {
  return encoder().encode(text);
}

/** A cl100k_base {@link TokenCounter} sharing the cached encoder. */
export function createTokenCounter(): TokenCounter {
  const enc = encoder();
  return (text: string): number => enc.count(text);
}
