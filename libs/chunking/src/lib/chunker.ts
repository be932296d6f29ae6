import { v5 as uuidv5 } from 'uuid';
import { scanBlocks } from './markdown-blocks';
import { normalizeMarkdown, sha256Hex } from './normalize';
import { pageAt, stripPageMarkers } from './page-markers';
import { createTokenCounter, type TokenCounter } from './tokenizer';

/**
 * Namespace of chunk ids: `chunkId = UUIDv5(CHUNK_ID_NAMESPACE, "{documentId}:{chunker}:{version}:{ord}")`.
 * Fixed forever: changing it changes every chunk id.
 */
export const CHUNK_ID_NAMESPACE = '6e76fc9e-be58-4af2-8b4b-cf6c7cc4f974';
export const DEFAULT_CHUNKER = 'md-token';
export const DEFAULT_CHUNKER_VERSION = 1;
export const DEFAULT_MAX_TOKENS = 512;
/** Input limit of OpenAI's embedding models (text-embedding-3-small/-large, ada-002), in cl100k_base tokens. */
export const EMBEDDING_MAX_INPUT_TOKENS = 8191;
export const MAX_OVERLAP_TOKENS = 64;
/** Smallest accepted token budget: any single character fits in 4 cl100k_base tokens. */
export const MIN_MAX_TOKENS = 8;

export interface ChunkOptions {
  documentId: string;
  /** Chunker name stored with each chunk and part of its id. Default 'md-token'. */
  chunker?: string;
  /** Chunker version stored with each chunk and part of its id (integer >= 1). Default 1. */
  version?: number;
  /** Token budget of a chunk, overlap included (integer >= 8). Default 512. */
  maxTokens?: number;
  /**
   * Tokens of the previous chunk's tail repeated at the start of the next chunk of the same section
   * (integer 0..64, below maxTokens / 2). Default 0.
   */
  overlapTokens?: number;
  /** The embedding model's input limit; the effective budget is min(maxTokens, hardMaxTokens). Default 8191. */
  hardMaxTokens?: number;
  /** Token counter; default cl100k_base ({@link createTokenCounter}). */
  countTokens?: TokenCounter;
}

export interface Chunk {
  /** UUIDv5 of `${documentId}:${chunker}:${version}:${ord}` in {@link CHUNK_ID_NAMESPACE}. */
  chunkId: string;
  /** 0-based position in the document. */
  ord: number;
  /** A contiguous slice of `normalizeMarkdown(markdown)`, never blank, never starting or ending in whitespace. */
  text: string;
  /** Tokens of `text` (overlap included), <= min(maxTokens, hardMaxTokens). */
  tokenCount: number;
  /** Lowercase hex SHA-256 of the UTF-8 of `text`. */
  chunkSha: string;
  /** Titles of the enclosing headings, outermost first ([] before the first heading). */
  headingPath: string[];
  chunker: string;
  version: number;
  /** Length of the leading part of `text` repeated from the previous chunk (0 without overlap). */
  overlapChars: number;
  /**
   * The pages the chunk's text comes from (first and last, 1-based), when the markdown has page markers
   * (see stripPageMarkers); absent otherwise.
   */
  pageStart?: number;
  pageEnd?: number;
}

/** The chunk id for one chunk position (the same value {@link chunkMarkdown} puts in `chunkId`). */
export function makeChunkId(documentId: string, chunker: string, version: number, ord: number): string {
  return uuidv5(`${documentId}:${chunker}:${version}:${ord}`, CHUNK_ID_NAMESPACE);
}

/** An indivisible, non-blank piece `[start, end)` of the normalized text that fits the budget on its own. */
interface Atom {
  start: number;
  end: number;
  tokens: number;
  heading: boolean;
  /** First atom of a heading: a section starts here. */
  sectionStart: boolean;
  section: number;
  path: readonly string[];
}

type SplitLevel = 'lines' | 'sentences' | 'words' | 'graphemes';

const WHITESPACE = /\s/;
/** Sentence ends: terminal punctuation (plus closing quotes/brackets) before whitespace, CJK stops, line breaks. */
const SENTENCE_END = /[.!?…]+["'”’)\]]*(?=\s)|[。！？]+[」』”’）]*|\n/g;

/** Characters segmented into grapheme clusters at a time (see graphemeBounds). */
const GRAPHEME_WINDOW = 1024;
/** A hard-split piece is accepted once it measures at least this share of the budget. */
const HARD_SPLIT_FILL = 0.9;
/** Hard-split guesses aim at this share of the budget. */
const HARD_SPLIT_AIM = 0.96;

let graphemeSegmenter: Intl.Segmenter | undefined;
let defaultCounter: TokenCounter | undefined;

/**
 * Splits markdown into token-bounded, markdown-aware chunks. The input is first normalized with
 * {@link normalizeMarkdown}; every chunk text is a slice of that normalized text (with its page marker lines
 * removed, when it has any: see stripPageMarkers; a chunk then says which pages it comes from).
 *
 * - Headings start sections: a chunk never spans two sections, except that a heading with no content of its
 *   own (e.g. `# Title` right before `## Intro`) stays with the next one. `headingPath` is the heading stack.
 * - Within a section, blocks (paragraphs, list items, fenced code, tables, quotes) are packed greedily up to
 *   the budget; a block that fits the budget is never split (a code block or table that does not fit the
 *   room left in a chunk starts the next chunk whole).
 * - A block over the budget is split: code and tables by lines, prose by sentences (and line breaks); then
 *   any piece still over budget by words, and a word over budget by grapheme clusters (code points as the very
 *   last resort). Every emitted chunk's token count is measured on its exact text, so no chunk ever exceeds
 *   min(maxTokens, hardMaxTokens).
 * - Deterministic; linear in the input apart from a logarithmic factor for the rare re-measurements.
 */
export function chunkMarkdown(markdown: string, opts: ChunkOptions): Chunk[] {
  const o = resolveOptions(opts);
  const { text, pages } = stripPageMarkers(normalizeMarkdown(markdown));
  if (text.length === 0) return [];
  const count = o.countTokens;
  const coreBudget = o.budget - o.overlapTokens;
  const atoms = buildAtoms(text, coreBudget, count);

  const chunks: Chunk[] = [];
  let prev: Span | null = null;
  for (const span of packAtoms(text, atoms, coreBudget, count)) {
    const first = atoms[span.first];
    const last = atoms[span.last];
    let start = first.start;
    let tokens = span.tokens;
    // Overlap only continues running text: within one section, and not out of a heading.
    if (
      o.overlapTokens > 0 &&
      prev &&
      !atoms[prev.last].heading &&
      atoms[prev.last].section === first.section &&
      !first.sectionStart
    ) {
      const withOverlap = overlapStart(
        text,
        atoms[prev.first].start,
        atoms[prev.last].end,
        last.end,
        o.overlapTokens,
        o.budget,
        count,
      );
      if (withOverlap) {
        start = withOverlap.start;
        tokens = withOverlap.tokens;
      }
    }
    const chunkText = text.slice(start, last.end);
    const ord = chunks.length;
    const chunk: Chunk = {
      chunkId: makeChunkId(o.documentId, o.chunker, o.version, ord),
      ord,
      text: chunkText,
      tokenCount: tokens,
      chunkSha: sha256Hex(chunkText),
      headingPath: [...last.path],
      chunker: o.chunker,
      version: o.version,
      overlapChars: first.start - start,
    };
    if (pages.length) {
      chunk.pageStart = pageAt(pages, start);
      chunk.pageEnd = pageAt(pages, last.end - 1);
    }
    chunks.push(chunk);
    prev = span;
  }
  return chunks;
}

/** Atoms `first..last` (inclusive) form one chunk of `tokens` tokens (overlap not included). */
interface Span {
  first: number;
  last: number;
  tokens: number;
}

/**
 * Greedy packing: extend a chunk atom by atom on estimates (atom tokens plus one per line-break gap; a space
 * usually merges into the next word's token), stopping at a section start once the chunk has content; then
 * measure the exact text, and if the estimate was low, binary search the longest prefix that measures within
 * the budget (a single atom always does).
 */
function packAtoms(text: string, atoms: Atom[], budget: number, count: TokenCounter): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < atoms.length) {
    let j = i;
    let estimate = atoms[i].tokens;
    let hasContent = !atoms[i].heading;
    while (j + 1 < atoms.length) {
      const a = atoms[j + 1];
      if (a.sectionStart && hasContent) break;
      const gap = text.slice(atoms[j].end, a.start).includes('\n') ? 1 : 0;
      if (estimate + gap + a.tokens > budget) break;
      estimate += gap + a.tokens;
      j++;
      if (!a.heading) hasContent = true;
    }
    let tokens = j === i ? atoms[i].tokens : count(text.slice(atoms[i].start, atoms[j].end));
    if (tokens > budget) {
      let lo = i;
      let hi = j;
      tokens = atoms[i].tokens;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        const t = count(text.slice(atoms[i].start, atoms[mid].end));
        if (t <= budget) {
          lo = mid;
          tokens = t;
        } else {
          hi = mid;
        }
      }
      j = lo;
    }
    spans.push({ first: i, last: j, tokens });
    i = j + 1;
  }
  return spans;
}

interface ResolvedOptions {
  documentId: string;
  chunker: string;
  version: number;
  budget: number;
  overlapTokens: number;
  countTokens: TokenCounter;
}

function resolveOptions(opts: ChunkOptions): ResolvedOptions {
  const chunker = opts.chunker ?? DEFAULT_CHUNKER;
  const version = opts.version ?? DEFAULT_CHUNKER_VERSION;
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  const hardMaxTokens = opts.hardMaxTokens ?? EMBEDDING_MAX_INPUT_TOKENS;
  const overlapTokens = opts.overlapTokens ?? 0;
  if (typeof opts.documentId !== 'string' || opts.documentId.length === 0) {
    throw new TypeError('chunkMarkdown: documentId must be a non-empty string');
  }
  if (chunker.length === 0) throw new TypeError('chunkMarkdown: chunker must be a non-empty string');
  if (!Number.isInteger(version) || version < 1)
    throw new RangeError('chunkMarkdown: version must be an integer >= 1');
  for (const [name, v] of [
    ['maxTokens', maxTokens],
    ['hardMaxTokens', hardMaxTokens],
  ] as const) {
    if (!Number.isInteger(v) || v < MIN_MAX_TOKENS) {
      throw new RangeError(`chunkMarkdown: ${name} must be an integer >= ${MIN_MAX_TOKENS}`);
    }
  }
  const budget = Math.min(maxTokens, hardMaxTokens);
  if (
    !Number.isInteger(overlapTokens) ||
    overlapTokens < 0 ||
    overlapTokens > MAX_OVERLAP_TOKENS ||
    overlapTokens * 2 >= budget
  ) {
    throw new RangeError(
      `chunkMarkdown: overlapTokens must be an integer in 0..${MAX_OVERLAP_TOKENS} and below half of the token budget`,
    );
  }
  defaultCounter ??= createTokenCounter();
  return {
    documentId: opts.documentId,
    chunker,
    version,
    budget,
    overlapTokens,
    countTokens: opts.countTokens ?? defaultCounter,
  };
}

/** Blocks -> atoms: each block trimmed, measured once, and split further only if it exceeds the budget. */
function buildAtoms(text: string, budget: number, count: TokenCounter): Atom[] {
  const atoms: Atom[] = [];
  const headings: { level: number; title: string }[] = [];
  let path: readonly string[] = [];
  let section = 0;

  for (const block of scanBlocks(text)) {
    const [start, end] = trimRange(text, block.start, block.end);
    if (start >= end) continue;
    const heading = block.kind === 'heading';
    if (heading) {
      while (headings.length > 0 && headings[headings.length - 1].level >= block.level) headings.pop();
      headings.push({ level: block.level, title: block.title });
      path = headings.map((h) => h.title).filter((t) => t.length > 0);
      section++;
    }
    const first = atoms.length;
    const push = (s: number, e: number, tokens: number): void => {
      atoms.push({
        start: s,
        end: e,
        tokens,
        heading,
        sectionStart: heading && atoms.length === first,
        section,
        path,
      });
    };
    const level: SplitLevel = block.kind === 'code' || block.kind === 'table' ? 'lines' : 'sentences';
    splitRange(text, start, end, count(text.slice(start, end)), level, budget, count, push);
  }
  return atoms;
}

function splitRange(
  text: string,
  start: number,
  end: number,
  tokens: number,
  level: SplitLevel,
  budget: number,
  count: TokenCounter,
  push: (s: number, e: number, tokens: number) => void,
): void {
  if (tokens <= budget) {
    push(start, end, tokens);
    return;
  }
  if (level === 'graphemes') {
    hardSplit(text, start, end, tokens, budget, count, push);
    return;
  }
  const parts =
    level === 'lines'
      ? splitAt(text, start, end, /\n/g, 'before')
      : level === 'sentences'
        ? splitAt(text, start, end, SENTENCE_END, 'after')
        : splitAt(text, start, end, /\s+/g, 'before');
  const nextLevel: SplitLevel = level === 'words' ? 'graphemes' : 'words';
  if (parts.length === 1) {
    splitRange(text, start, end, tokens, nextLevel, budget, count, push); // same range: skip re-measuring
    return;
  }
  for (const [s, e] of parts) splitRange(text, s, e, count(text.slice(s, e)), nextLevel, budget, count, push);
}

/**
 * Cuts `[start, end)` at the matches of `separator` (the match goes to the piece before when 'after', and is
 * dropped from both when 'before', i.e. it is whitespace); pieces are trimmed, blank ones dropped.
 */
function splitAt(
  text: string,
  start: number,
  end: number,
  separator: RegExp,
  keep: 'after' | 'before',
): [number, number][] {
  const slice = text.slice(start, end);
  const parts: [number, number][] = [];
  let from = 0;
  const add = (s: number, e: number): void => {
    const [ts, te] = trimRange(text, start + s, start + e);
    if (ts < te) parts.push([ts, te]);
  };
  separator.lastIndex = 0;
  for (let m = separator.exec(slice); m !== null; m = separator.exec(slice)) {
    if (m[0].length === 0) {
      separator.lastIndex++;
      continue;
    }
    const cut = keep === 'after' ? m.index + m[0].length : m.index;
    add(from, cut);
    from = cut;
  }
  add(from, slice.length);
  return parts;
}

/** Last resort for one over-budget word: the longest prefixes, in grapheme clusters, that fit the budget. */
function hardSplit(
  text: string,
  start: number,
  end: number,
  tokens: number,
  budget: number,
  count: TokenCounter,
  push: (s: number, e: number, tokens: number) => void,
): void {
  splitAtBounds(text, graphemeBounds(text, start, end), tokens, budget, count, push, (s, e) => {
    const codePoints: number[] = [];
    for (let p = s; p < e; p += (text.codePointAt(p) ?? 0) > 0xffff ? 2 : 1) codePoints.push(p);
    codePoints.push(e);
    splitAtBounds(text, codePoints, codePoints.length - 1, budget, count, push, () => {
      throw new RangeError(
        'chunkMarkdown: the token counter reports a single character above the token budget',
      );
    });
  });
}

/**
 * Start offsets of the grapheme clusters of `[start, end)`, then `end`. Segmented in windows because V8's
 * segment iterator is quadratic in the string length (80k CJK characters take 20 s in one piece). A window's
 * last cluster may be cut by the window, so the next window starts at that cluster's start instead.
 */
function graphemeBounds(text: string, start: number, end: number): number[] {
  graphemeSegmenter ??= new Intl.Segmenter('und', { granularity: 'grapheme' });
  const bounds: number[] = [];
  let pos = start;
  while (pos < end) {
    let windowEnd = Math.min(end, pos + GRAPHEME_WINDOW);
    const local: number[] = [];
    for (const seg of graphemeSegmenter.segment(text.slice(pos, windowEnd))) local.push(pos + seg.index);
    if (windowEnd === end) {
      for (const b of local) bounds.push(b);
      break;
    }
    const lastStart = local.pop() as number;
    if (local.length === 0) {
      // One cluster longer than the window (e.g. thousands of combining marks): cut it between code points.
      if (/[\uD800-\uDBFF]/.test(text[windowEnd - 1])) windowEnd--;
      bounds.push(pos);
      pos = windowEnd;
      continue;
    }
    for (const b of local) bounds.push(b);
    pos = lastStart;
  }
  bounds.push(end);
  return bounds;
}

/**
 * Greedy prefix cutting at the given boundaries: each piece is a prefix that measures <= budget and either
 * fills at least {@link HARD_SPLIT_FILL} of it or is the longest that fits. The cut is guessed from the
 * boundaries-per-token ratio seen so far and corrected by secant steps, falling back to bisection, so a piece
 * usually costs one or two measurements of about one budget of text.
 */
function splitAtBounds(
  text: string,
  bounds: number[],
  tokens: number,
  budget: number,
  count: TokenCounter,
  push: (s: number, e: number, tokens: number) => void,
  tooBig: (s: number, e: number) => void,
): void {
  const last = bounds.length - 1;
  let perToken = tokens > 0 ? last / tokens : 1; // boundaries per token
  let a = 0;
  while (a < last) {
    let lo = a;
    let loTokens = 0;
    let hi = last + 1; // first index known not to fit (last + 1: none known)
    let guess = a + Math.floor(perToken * budget * HARD_SPLIT_AIM);
    for (;;) {
      const k = Math.min(Math.max(guess, lo + 1), hi - 1, last);
      const t = count(text.slice(bounds[a], bounds[k]));
      if (t <= budget) {
        lo = k;
        loTokens = t;
        if (k === last || t >= budget * HARD_SPLIT_FILL) break;
      } else {
        hi = k;
      }
      if (hi - lo <= 1) break;
      // Secant step towards the aim, at most doubling the measured length (a run of '=' can be 1 token per
      // 16 characters, then 1 per character: unbounded jumps would re-measure the whole rest of the word).
      guess = t > 0 ? a + Math.floor(((k - a) * budget * HARD_SPLIT_AIM) / t) : 2 * k - a;
      if (guess > 2 * k - a) guess = 2 * k - a;
      // Outside the open bracket: bisect it, or creep up while no upper end is known yet.
      if (guess <= lo) guess = hi > last ? lo + 1 : (lo + hi) >> 1;
      else if (guess >= hi) guess = (lo + hi) >> 1;
    }
    if (lo === a) {
      tooBig(bounds[a], bounds[a + 1]);
      a++;
    } else {
      push(bounds[a], bounds[lo], loTokens);
      if (loTokens > 0) perToken = (lo - a) / loTokens;
      a = lo;
    }
  }
}

/**
 * Where the next chunk's text starts when it repeats the previous chunk's tail: the earliest word start in the
 * previous chunk whose tail measures <= overlapTokens and keeps the whole chunk within budget; null if none.
 */
function overlapStart(
  text: string,
  prevStart: number,
  prevEnd: number,
  coreEnd: number,
  overlapTokens: number,
  budget: number,
  count: TokenCounter,
): { start: number; tokens: number } | null {
  // Word starts in the previous chunk's tail, nearest first; each word costs at least one token.
  const starts: number[] = [];
  const floor = Math.max(prevStart, prevEnd - overlapTokens * 32);
  for (let p = prevEnd - 1; p >= floor && starts.length <= overlapTokens; p--) {
    if (!WHITESPACE.test(text[p]) && (p === prevStart || WHITESPACE.test(text[p - 1]))) starts.push(p);
  }
  // Farthest start whose tail fits overlapTokens (tails grow with the index).
  let lo = -1;
  let hi = starts.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (count(text.slice(starts[mid], prevEnd)) <= overlapTokens) lo = mid;
    else hi = mid;
  }
  for (let k = lo; k >= 0; k--) {
    const tokens = count(text.slice(starts[k], coreEnd));
    if (tokens <= budget) return { start: starts[k], tokens };
  }
  return null;
}

function trimRange(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && WHITESPACE.test(text[s])) s++;
  while (e > s && WHITESPACE.test(text[e - 1])) e--;
  return [s, e];
}
