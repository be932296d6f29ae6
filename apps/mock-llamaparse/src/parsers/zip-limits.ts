import { createInflateRaw } from 'node:zlib';
import { DocumentParseError } from './parser';

/** Default most bytes the entries of a ZIP container (DOCX) may inflate to, all entries together. */
export const DEFAULT_MAX_UNZIPPED_BYTES = 50 * 1024 * 1024;

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;

interface ZipEntryInfo {
  name: string;
  method: number;
  packedSize: number;
  size: number;
  localOffset: number;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** The entries of a ZIP's central directory; `undefined` when there is no readable one (mammoth reports that). */
function centralDirectory(zip: Buffer): ZipEntryInfo[] | undefined {
  // The end record is in the last 22 + 65535 (comment) bytes.
  const min = Math.max(0, zip.length - 22 - 0xffff);
  let eocd = -1;
  for (let p = zip.length - 22; p >= min; p--)
    if (zip.readUInt32LE(p) === EOCD_SIG) {
      eocd = p;
      break;
    }
  if (eocd < 0) return undefined;
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntryInfo[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== CDH_SIG) return undefined;
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    entries.push({
      name: zip.subarray(p + 46, p + 46 + nameLen).toString('utf8'),
      method: zip.readUInt16LE(p + 10),
      packedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      localOffset: zip.readUInt32LE(p + 42),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Inflates `packed` to nowhere, counting; stops (and resolves the count so far) once it passes `budget`. */
function inflatedLength(packed: Buffer, budget: number): Promise<number> {
  return new Promise((resolve) => {
    const inflate = createInflateRaw();
    let n = 0;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(n);
    };
    inflate.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > budget) done();
    });
    inflate.on('end', done);
    // A corrupt stream: whatever inflated so far; mammoth reports the corruption itself.
    inflate.on('error', done);
    inflate.end(packed);
  });
}

/**
 * Refuses a ZIP container (DOCX) whose entries inflate to more than `maxBytes` together, before anything reads it
 * whole: first by the sizes the central directory declares (free: a ZIP64 size counts as over), then by
 * inflating each deflated entry into a counter, so a bomb that lies about its sizes is refused too. Memory stays
 * at zlib's window, whatever the entries hold. A ZIP this cannot read is left to the real parser to report.
 */
export async function assertZipWithinLimit(zip: Buffer, maxBytes: number, what = 'DOCX'): Promise<void> {
  const entries = centralDirectory(zip);
  if (!entries) return;
  const tooLarge = (detail: string) =>
    new DocumentParseError(
      `${what} file too large when decompressed: ${detail}, over the ${mib(maxBytes)} limit (${zip.length} bytes compressed)`,
      'DOCX_TOO_LARGE',
    );
  const declared = entries.reduce((n, e) => n + e.size, 0);
  if (declared > maxBytes) {
    const biggest = [...entries].sort((a, b) => b.size - a.size)[0];
    throw tooLarge(`its ${entries.length} entries declare ${mib(declared)} (largest ${biggest.name}, ${mib(biggest.size)})`);
  }
  let total = 0;
  for (const e of entries) {
    let actual = e.size;
    if (e.method === 8) {
      const p = e.localOffset;
      if (p + 30 > zip.length || zip.readUInt32LE(p) !== LFH_SIG) continue;
      const start = p + 30 + zip.readUInt16LE(p + 26) + zip.readUInt16LE(p + 28);
      actual = await inflatedLength(zip.subarray(start, start + e.packedSize), maxBytes - total);
    }
    total += actual;
    if (total > maxBytes) throw tooLarge(`${e.name} inflates to over ${mib(actual)} (declared ${mib(e.size)})`);
  }
}
