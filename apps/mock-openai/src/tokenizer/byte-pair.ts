import type { TiktokenBPE } from 'js-tiktoken/lite';

/** 2^32: heap keys are `rank * 2^32 + partStart` (ranks < 2^20, pieces < 2^32 bytes: exact doubles). */
const KEY_SHIFT = 4294967296;

/**
 * A tiktoken byte-pair encoder over a js-tiktoken rank file that gives exactly js-tiktoken's
 * `Tiktoken#encode(text, [], [])` for every input, at O(n log n) for n bytes however long one word is.
 *
 * js-tiktoken pre-tokenizes with the encoding's regex (as here), then merges each piece with a loop that
 * rescans every adjacent pair after every merge, building a string of the pair's bytes each time: O(n^2) in
 * the piece's bytes with a large constant. A piece is a whole word, so one 200,000-character word (an inlined
 * base64 image without digits, a run of one letter, CJK without spaces) took hours and blocked the event
 * loop; 10,000 identical letters take ~7 s. Here a piece is merged with a priority queue in the same order
 * (lowest rank first, leftmost on ties), so the tokens are the same. Nothing is split or approximated.
 */
export class BytePairEncoder {
  /** Token bytes (a latin1 string, one char per byte) -> rank. */
  private readonly ranks = new Map<string, number>();
  /** Byte length of each rank's token. */
  private readonly tokenLength: number[] = [];
  private readonly pattern: RegExp;
  private steps = 0;

  constructor(data: TiktokenBPE) {
    // Lines are "<marker> <first rank> <base64 token> <base64 token> ...", ranks consecutive.
    for (const line of data.bpe_ranks.split('\n')) {
      if (line === '') continue;
      const fields = line.split(' ');
      const offset = Number.parseInt(fields[1], 10);
      for (let i = 2; i < fields.length; i++) {
        const token = Buffer.from(fields[i], 'base64').toString('latin1');
        this.ranks.set(token, offset + i - 2);
        this.tokenLength[offset + i - 2] = token.length;
      }
    }
    this.pattern = new RegExp(data.pat_str, 'gu');
  }

  /**
   * Elementary merge steps so far: pair lookups and heap sift steps (a lookup hashes at most two tokens' bytes,
   * so each is O(1)). For tests of the cost bound.
   */
  get work(): number {
    return this.steps;
  }

  /** Token ids of `text`; special-token strings are ordinary text. */
  encode(text: string): number[] {
    const out: number[] = [];
    const re = this.pattern;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++; // defensive: the tiktoken patterns never match empty
        continue;
      }
      // UTF-8 as js-tiktoken's TextEncoder makes it (a lone surrogate becomes U+FFFD), one char per byte.
      const bytes = Buffer.from(m[0], 'utf8').toString('latin1');
      const rank = this.ranks.get(bytes);
      if (rank !== undefined) out.push(rank);
      else this.merge(bytes, out);
    }
    return out;
  }

  /**
   * Byte-pair merge of one piece: repeatedly merge the adjacent pair whose bytes have the lowest rank, the
   * leftmost of equal ranks (js-tiktoken's loop keeps the first minimum it meets), until no pair has a rank.
   *
   * Parts form a linked list keyed by their start offset. The heap holds `rank * 2^32 + start` for every
   * current pair that has a rank (all pairs at first; a merge at `start` changes only the pairs at `start` and
   * before it, which are pushed anew), so its minimum is the pair the loop would pick, once entries for pairs
   * that changed since are skipped. A pair at a given start only grows (its two parts only absorb right
   * neighbours), and a rank is one byte string, so an entry is current exactly when its start is still a part
   * and the pair there is still as long as the rank's token.
   *
   * Cost: fewer than 3n pushes (n - 1 pairs, two per merge), as many pops, O(log n) each.
   */
  private merge(bytes: string, out: number[]): void {
    const len = bytes.length;
    const next = new Int32Array(len);
    const prev = new Int32Array(len);
    const alive = new Uint8Array(len).fill(1);
    for (let i = 0; i < len; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap();
    const pushPair = (start: number): void => {
      const mid = next[start];
      if (mid >= len) return;
      this.steps++;
      const rank = this.ranks.get(bytes.slice(start, next[mid]));
      if (rank !== undefined) heap.push(rank * KEY_SHIFT + start);
    };
    for (let i = 0; i + 1 < len; i++) pushPair(i);

    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / KEY_SHIFT);
      const start = key - rank * KEY_SHIFT;
      if (alive[start] === 0) continue;
      const mid = next[start];
      if (mid >= len) continue;
      const end = next[mid];
      if (end - start !== this.tokenLength[rank]) continue; // the pair at `start` has grown since: stale
      alive[mid] = 0;
      next[start] = end;
      if (end < len) prev[end] = start;
      pushPair(start);
      if (prev[start] >= 0) pushPair(prev[start]);
    }
    this.steps += heap.steps;

    for (let i = 0; i < len; i = next[i]) {
      const rank = this.ranks.get(bytes.slice(i, next[i]));
      // Every single byte is a token, and a part is only ever a merge of a ranked pair.
      if (rank === undefined) throw new Error('byte-pair merge: unranked part');
      out.push(rank);
    }
  }
}

/** Minimal binary min-heap of numbers; `steps` counts pushes, pops and their sift iterations. */
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
