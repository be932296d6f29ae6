import { createHash } from 'node:crypto';
import { stripPageMarkers } from './page-markers';

/** Line and page separators that become a line feed: VT, FF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR. */
const LINE_SEPARATORS = /[\v\f\u0085\u2028\u2029]/g;
/** Other C0 controls (all but \t and \n), DEL, the other C1 controls, and the byte-order mark U+FEFF. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point of this rule
const INVISIBLE_CONTROLS = /[\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFEFF]/g;
/** Whitespace other than \n at the end of a line. */
const TRAILING_WHITESPACE = /[^\S\n]+$/gm;

/**
 * The one normalization rule for parsed markdown, used both to decide that a parsed document is non-empty
 * (`parse_validated`) and to hash it, and applied by the chunker before chunking. In order:
 *
 *  1. line breaks: CRLF and lone CR become LF; VT, FF (page breaks), NEL, U+2028 and U+2029 become LF;
 *  2. invisible controls are removed: NUL and every other C0 control except TAB and LF, DEL, the C1 controls,
 *     and U+FEFF (byte-order mark / zero-width no-break space) wherever it appears;
 *  3. Unicode NFC (after step 2, so removing a control can never leave a decomposed sequence behind);
 *  4. trailing whitespace is removed from every line (so whitespace-only lines become empty; markdown's
 *     "two trailing spaces" hard break becomes a plain line break);
 *  5. runs of two or more blank lines collapse to one blank line (`\n{3,}` -> `\n\n`), code blocks included;
 *  6. leading blank lines and trailing line breaks of the document are removed (leading spaces of the first
 *     line are kept: they can be markdown syntax).
 *
 * The rule is idempotent: `normalizeMarkdown(normalizeMarkdown(x)) === normalizeMarkdown(x)`.
 * Changing it changes document hashes and chunk ids' content, so treat it as versioned.
 */
export function normalizeMarkdown(md: string): string {
  return md
    .replace(/\r\n?/g, '\n')
    .replace(LINE_SEPARATORS, '\n')
    .replace(INVISIBLE_CONTROLS, '')
    .normalize('NFC')
    .replace(TRAILING_WHITESPACE, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+/, '')
    .replace(/\n+$/, '');
}

/**
 * True when nothing is left after {@link normalizeMarkdown} and the removal of page markers (stripPageMarkers): the
 * `parse_validated` emptiness check.
 */
export function isEffectivelyEmpty(md: string): boolean {
  return stripPageMarkers(normalizeMarkdown(md)).text.length === 0;
}

/**
 * Fewer letters or digits than this (after {@link normalizeMarkdown}) and a parsed document counts as having no
 * readable text (`parse_validated` dead-letters it with `no_text`): separators, punctuation, image placeholders
 * or a stray OCR speck are not a document.
 */
export const MIN_READABLE_CHARS = 3;

const READABLE = /[\p{L}\p{N}]/gu;

/**
 * Letters and digits (any script, any number system) in the normalized markdown, page markers (stripPageMarkers)
 * not counted, counted up to `limit`.
 */
export function countReadableChars(md: string, limit = Number.POSITIVE_INFINITY): number {
  let n = 0;
  const matches = stripPageMarkers(normalizeMarkdown(md)).text.matchAll(READABLE);
  while (n < limit && !matches.next().done) n++;
  return n;
}

/** True when the normalized markdown has at least `min` letters or digits: the `parse_validated` `no_text` check. */
export function hasReadableText(md: string, min = MIN_READABLE_CHARS): boolean {
  return countReadableChars(md, min) >= min;
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Lowercase hex SHA-256 of the UTF-8 of `normalizeMarkdown(md)`: the parsed document's content hash. */
export function markdownSha256(md: string): string {
  return sha256Hex(normalizeMarkdown(md));
}
