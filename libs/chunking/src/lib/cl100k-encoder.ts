import type { TiktokenBPE } from 'js-tiktoken/lite';
import { rankedTokens, RankTable } from './rank-table';

/** Pieces up to this many bytes are merged by rescanning (see mergeSmallPiece), longer ones with a heap. */
const SMALL_PIECE = 48;

/** Multi-token pieces up to this many bytes have their counts cached... */
const CACHED_PIECE_BYTES = 64;
/** ...in a map of at most this many entries (a few MB). */
const PIECE_CACHE_ENTRIES = 50_000;

/** 2^32: heap keys are `rank * 2^32 + partStart` (rank < 2^17, so keys stay exact doubles). */
const KEY_SHIFT = 4294967296;

export interface Cl100kEncoderOptions {
  /**
   * Pieces up to this many bytes are merged by tiktoken's own rescanning loop (quadratic, but faster than a heap
   * for short pieces); longer ones by the heap. Default 48. Tests set it to Infinity to get the rescanning loop
   * alone (a reference that is quadratic on long pieces) and to 0 to get the heap alone.
   */
  smallPieceBytes?: number;
}

/**
 * cl100k_base byte-pair encoder over a tiktoken rank file (`js-tiktoken/ranks/cl100k_base`, nothing downloads).
 * It produces exactly the tokens of js-tiktoken's `Tiktoken#encode(text, [], [])` for every input (special-token
 * strings such as `<|endoftext|>` are encoded as ordinary text, which never under-counts), but merges each regex
 * piece longer than a few dozen bytes with a priority queue, O(n log n) in the piece's bytes, instead of
 * js-tiktoken's rescan, which is O(n^2) with a large constant: js-tiktoken needs ~7 s for 10,000 identical
 * letters or 4,000 CJK characters without spaces (one regex piece each), and hours for a 200,000-character word.
 *
 * No piece is split before merging, so no input gets a count that differs from js-tiktoken's (see mergePiece
 * for why the heap merges in the same order).
 */
export class Cl100kEncoder {
  private readonly ranks: RankTable;
  /** Token counts of recently seen multi-token pieces (bounded: cleared when full). */
  private readonly pieceCounts = new Map<string, number>();
  /** tiktoken's pattern: global (finds the next piece anywhere) and sticky (a piece exactly at lastIndex). */
  private readonly pattern: RegExp;
  private readonly sticky: RegExp;
  private readonly smallPiece: number;
  private steps = 0;

  constructor(data: TiktokenBPE, options: Cl100kEncoderOptions = {}) {
    this.pattern = new RegExp(data.pat_str, 'gu');
    this.sticky = new RegExp(data.pat_str, 'yu');
    this.ranks = new RankTable(rankedTokens(data));
    this.smallPiece = options.smallPieceBytes ?? SMALL_PIECE;
  }

  /**
   * Elementary merge steps done so far by this encoder: rank-table lookups of a pair, pair comparisons of the
   * rescanning loop, and sift steps of the heap (each costs O(1): a lookup hashes at most two tokens' bytes).
   * The piece cache is not counted: a cached piece costs one map lookup. For tests and benchmarks.
   */
  get work(): number {
    return this.steps;
  }

  count(text: string): number {
    return this.run(text, null);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.run(text, out);
    return out;
  }

  /**
   * The pieces are found with the sticky pattern's `test`, which allocates neither a match array nor the piece: the
   * cl100k pattern matches at every position (letters, digits, other symbols and whitespace each have an
   * alternative), so each piece starts where the last one ended, and an ASCII piece is looked up as a range of the
   * text itself. Only a piece that is not one token, or not ASCII, becomes a string of its own. (The chunker counts
   * every block and every chunk: exec's match arrays and pieces were a tenth of what the worker allocated.) Should the
   * pattern not match at a position, the global pattern's `exec` finds the next piece, as tiktoken's loop would.
   */
  private run(text: string, out: number[] | null): number {
    const sticky = this.sticky;
    const len = text.length;
    let n = 0;
    let pos = 0;
    while (pos < len) {
      sticky.lastIndex = pos;
      let end: number;
      if (sticky.test(text)) {
        end = sticky.lastIndex;
      } else {
        const re = this.pattern;
        re.lastIndex = pos;
        const m = re.exec(text);
        if (m === null) break;
        pos = m.index;
        end = pos + m[0].length;
      }
      if (end === pos) {
        pos++; // defensive: the cl100k pattern never matches empty
        continue;
      }
      const start = pos;
      pos = end;
      // an ASCII piece is its own bytes, looked up in place; any other is made a latin1 string of its UTF-8 first
      const utf8 = isAsciiRange(text, start, end) ? null : Buffer.from(text.slice(start, end), 'utf8').toString('latin1');
      const rank = utf8 === null ? this.ranks.find(text, start, end) : this.ranks.find(utf8, 0, utf8.length);
      if (rank !== undefined) {
        n++;
        out?.push(rank);
        continue;
      }
      const bytes = utf8 ?? text.slice(start, end);
      if (out === null && bytes.length <= CACHED_PIECE_BYTES) {
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
   * whose concatenation has the lowest rank, leftmost first on ties — tiktoken's order.
   *
   * Parts are a linked list keyed by start offset; the heap holds keys `rank * 2^32 + start`, so its minimum is
   * the lowest rank, leftmost on ties, as in tiktoken's scan. Every current pair that has a rank has an entry:
   * all pairs are pushed at the start, and a merge at `start` changes only the pair at `start` and the one before
   * it (both pushed anew) and removes the pair at the absorbed part (its entries go stale). An entry (rank,
   * start) is stale once the pair at `start` has changed; a pair at a given start only ever grows (its parts
   * absorb their right neighbours), and a rank names exactly one byte string, so the entry is current exactly
   * when `start` is alive and its pair's byte length still equals the length of the rank's token. Stale entries
   * are skipped. So each step merges the pair tiktoken's scan merges, and the result is identical.
   *
   * Cost: at most (n - 1) + 2 * merges < 3n pushes, as many pops, O(log n) sift steps each, and O(1) per pair
   * lookup (pairs are two tokens, at most a few hundred bytes): O(n log n) for a piece of n bytes.
   */
  private mergePiece(bytes: string, out: number[] | null): number {
    const len = bytes.length;
    if (len <= this.smallPiece) return this.mergeSmallPiece(bytes, out);
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
      this.steps++;
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
    this.steps += heap.steps;

    if (out) {
      for (let i = 0; i < len; i = next[i]) {
        const r = this.ranks.find(bytes, i, next[i]);
        if (r === undefined) throw new Error('cl100k_base: unranked byte sequence'); // every single byte is ranked
        out.push(r);
      }
    }
    return parts;
  }

  /**
   * The same merge by rescanning a rank array (tiktoken's own loop): faster than the heap for short pieces, and
   * quadratic in the piece's bytes, so used only up to `smallPieceBytes`.
   */
  private mergeSmallPiece(bytes: string, out: number[] | null): number {
    const starts: number[] = [];
    for (let i = 0; i <= bytes.length; i++) starts.push(i);
    const rankAt = (i: number): number => {
      if (i + 2 >= starts.length) return Infinity;
      this.steps++;
      return this.ranks.find(bytes, starts[i], starts[i + 2]) ?? Infinity;
    };
    const pairRanks: number[] = [];
    for (let i = 0; i + 1 < starts.length; i++) pairRanks.push(rankAt(i));
    for (;;) {
      let best = Infinity;
      let at = -1;
      this.steps += pairRanks.length;
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

function isAsciiRange(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Minimal binary min-heap of numbers; `steps` counts its sift iterations. */
class MinHeap {
  private readonly items: number[] = [];
  steps = 0;

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    let i = a.length;
    a.push(v);
    this.steps++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
      this.steps++;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as number;
    this.steps++;
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
        this.steps++;
      }
      a[i] = last;
    }
    return top;
  }
}
