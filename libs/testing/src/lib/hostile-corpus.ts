import { constants, crc32, deflateRawSync } from 'node:zlib';
import { buildDocx } from './fixtures/docx.builder';
import { buildPdf } from './fixtures/pdf.builder';

/**
 * Hostile ("poison") documents, built in code from small inputs: each stresses one part of the pipeline (parser,
 * chunker, tokenizer, memory). None is large on the wire except where noted; the DOCX zip bomb is a few hundred KB
 * that inflates to hundreds of MB. Deterministic: the same call gives the same bytes.
 */
export interface HostileDocument {
  /** Short stable name, e.g. `long-word`. */
  name: string;
  filename: string;
  mime: string;
  bytes: Buffer;
  /** What the document attacks, for reports. */
  description: string;
}

export const MIME = {
  md: 'text/markdown',
  html: 'text/html',
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
} as const;

/** Markdown whose body is one word of `length` characters (no space, no punctuation): no natural split point. */
export function longWordMarkdown(length = 200_000): Buffer {
  let word = '';
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  // Varied letters (not one letter repeated) so the tokenizer cannot merge it into a few long tokens.
  for (let i = 0; word.length < length; i++) word += letters[(i * 7 + (i >> 3)) % 26];
  return Buffer.from(`# One long word\n\n${word.slice(0, length)}\n`, 'utf8');
}

/** Markdown with an inline `data:` image of about `base64Chars` characters of base64 (default ~300 KB). */
export function base64ImageMarkdown(base64Chars = 300_000): Buffer {
  // Pseudo-random bytes (a fixed LCG), so the base64 has no repetition to compress or tokenize cheaply.
  const raw = Buffer.alloc(Math.ceil((base64Chars * 3) / 4));
  let x = 0x2545f491;
  for (let i = 0; i < raw.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    raw[i] = x >>> 24;
  }
  const b64 = raw.toString('base64').slice(0, base64Chars);
  return Buffer.from(`# Report with a picture\n\nSome text before.\n\n![x](data:image/png;base64,${b64})\n\nSome text after.\n`, 'utf8');
}

/** HTML with `depth` nested `<div>`s around one sentence (default 5,000). */
export function deeplyNestedHtml(depth = 5_000): Buffer {
  return Buffer.from(
    `<!DOCTYPE html><html><head><title>nested</title></head><body>${'<div>'.repeat(depth)}` +
      `Deep inside the nest there is text.${'</div>'.repeat(depth)}</body></html>`,
    'utf8',
  );
}

/** A markdown table of `rows` rows (default 20,000) and four columns. */
export function hugeTableMarkdown(rows = 20_000): Buffer {
  const lines = ['# Big table', '', '| id | name | amount | note |', '| --- | --- | --- | --- |'];
  for (let i = 0; i < rows; i++) lines.push(`| ${i} | item ${i} | ${(i * 37) % 1000}.${i % 100} | row note ${i % 13} |`);
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** A PDF of `pages` pages (default 500), each holding one word. */
export function manyPagesPdf(pages = 500): Buffer {
  return buildPdf(Array.from({ length: pages }, (_, i) => [`word${i + 1}`]));
}

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

/**
 * A valid DOCX whose `word/document.xml` inflates to about `inflatedMiB` MiB (default 256) of one repeated letter
 * in a single run, from a few hundred KB: the other parts come from {@link buildDocx}; document.xml is deflated
 * one 1 MiB block at a time (full flushes, so the segments concatenate into one valid raw deflate stream) and its
 * CRC-32 is computed incrementally, so building it never holds the inflated text. The ZIP's declared sizes are
 * true (a bomb that lies about them is a different attack; see {@link zipWithDeclaredSize}).
 */
export function docxZipBomb(inflatedMiB = 256): Buffer {
  const head = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="${W}"><w:body><w:p><w:r><w:t>`,
    'utf8',
  );
  const tail = Buffer.from('</w:t></w:r></w:p></w:body></w:document>', 'utf8');
  const block = Buffer.alloc(1 << 20, 'a');
  const full = { finishFlush: constants.Z_FULL_FLUSH };
  const blockPacked = deflateRawSync(block, full);
  const parts: Buffer[] = [deflateRawSync(head, full)];
  let crc = crc32(head);
  for (let i = 0; i < inflatedMiB; i++) {
    parts.push(blockPacked);
    crc = crc32(block, crc);
  }
  parts.push(deflateRawSync(tail));
  crc = crc32(tail, crc);
  const size = head.length + inflatedMiB * block.length + tail.length;
  // The small parts of a normal DOCX, with document.xml replaced by the bomb.
  const base = readStoredEntries(buildDocx([{ text: 'placeholder' }])).filter((e) => e.name !== 'word/document.xml');
  return writeZip([...base, { name: 'word/document.xml', packed: Buffer.concat(parts), crc, size }]);
}

/** One entry of {@link writeZip}: data already raw-deflated, with the CRC-32 and size of the inflated data. */
export interface PackedZipEntry {
  name: string;
  packed: Buffer;
  crc: number;
  size: number;
}

/** A ZIP of pre-deflated entries (no ZIP64, no data descriptors), like the fixtures' buildZip. */
export function writeZip(entries: readonly PackedZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(e.crc, 14);
    local.writeUInt32LE(e.packed.length, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, e.packed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(e.crc, 16);
    central.writeUInt32LE(e.packed.length, 20);
    central.writeUInt32LE(e.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + e.packed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** The entries of a ZIP written by buildZip/writeZip (local headers in order, sizes in the headers). */
function readStoredEntries(zip: Buffer): PackedZipEntry[] {
  const out: PackedZipEntry[] = [];
  let p = 0;
  while (zip.readUInt32LE(p) === 0x04034b50) {
    const crc = zip.readUInt32LE(p + 14);
    const packedLen = zip.readUInt32LE(p + 18);
    const size = zip.readUInt32LE(p + 22);
    const nameLen = zip.readUInt16LE(p + 26);
    const extraLen = zip.readUInt16LE(p + 28);
    const name = zip.subarray(p + 30, p + 30 + nameLen).toString('utf8');
    const start = p + 30 + nameLen + extraLen;
    out.push({ name, packed: Buffer.from(zip.subarray(start, start + packedLen)), crc, size });
    p = start + packedLen;
  }
  return out;
}

/**
 * The same DOCX with one entry's declared (central directory and local header) uncompressed size changed: a bomb
 * that lies about its size, to test that a parser checks what actually inflates, not only what is declared.
 */
export function zipWithDeclaredSize(zip: Buffer, entryName: string, declaredSize: number): Buffer {
  const entries = readStoredEntries(zip).map((e) => (e.name === entryName ? { ...e, size: declaredSize } : e));
  return writeZip(entries);
}

/** A normal small markdown document (to upload next to the poison ones). */
export function normalMarkdown(tag = 'normal'): Buffer {
  return Buffer.from(
    `# Meeting notes ${tag}\n\nThe team agreed on the plan for the quarter.\n\n- ship the parser limits\n- measure the worker memory\n`,
    'utf8',
  );
}

/** Every poison document of the corpus, built fresh. */
export function hostileCorpus(): HostileDocument[] {
  return [
    { name: 'long-word', filename: 'long-word.md', mime: MIME.md, bytes: longWordMarkdown(), description: 'one 200,000-character word' },
    { name: 'base64-image', filename: 'base64-image.md', mime: MIME.md, bytes: base64ImageMarkdown(), description: 'inline data: image, ~300 KB of base64' },
    { name: 'nested-html', filename: 'nested.html', mime: MIME.html, bytes: deeplyNestedHtml(), description: '5,000 nested divs' },
    { name: 'docx-zip-bomb', filename: 'bomb.docx', mime: MIME.docx, bytes: docxZipBomb(), description: 'document.xml inflates to 256 MiB' },
    { name: 'huge-table', filename: 'huge-table.md', mime: MIME.md, bytes: hugeTableMarkdown(), description: 'markdown table of 20,000 rows' },
    { name: 'many-pages', filename: 'many-pages.pdf', mime: MIME.pdf, bytes: manyPagesPdf(), description: '500 pages of one word' },
  ];
}
