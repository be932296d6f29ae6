/**
 * Writes a small valid PDF whose text is placed by hand: each run of text at its own x/y (points from the
 * bottom-left corner of a 612 x 792 page) and font size, in Helvetica (a standard font: nothing embedded). For
 * layout tests: headings in a larger size, list items, columns of a table. Printable ASCII plus the bullet `•`
 * (WinAnsiEncoding 0x95). Self-contained on purpose (node:* imports only) so other projects can copy it.
 */
export interface PlacedText {
  text: string;
  x: number;
  y: number;
  /** Font size in points; 12 when absent. */
  size?: number;
  /** Helvetica-Bold instead of Helvetica. */
  bold?: boolean;
}

export function buildLayoutPdf(pages: readonly (readonly PlacedText[])[]): Buffer {
  if (pages.length === 0) throw new Error('a PDF needs at least one page');
  const fontId = 3;
  const boldFontId = 4;
  const pageIds = pages.map((_, i) => 5 + i * 2);
  const objects: string[] = [];
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[fontId] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  objects[boldFontId] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>';
  pages.forEach((runs, i) => {
    const pageId = pageIds[i];
    const contentId = pageId + 1;
    const ops: string[] = [];
    for (const run of runs) {
      const size = run.size ?? 12;
      ops.push('BT', `/${run.bold ? 'F2' : 'F1'} ${num(size)} Tf`, `1 0 0 1 ${num(run.x)} ${num(run.y)} Tm`, `(${encode(run.text)}) Tj`, 'ET');
    }
    const stream = ops.join('\n');
    objects[pageId] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ` +
      `/Resources << /Font << /F1 ${fontId} 0 R /F2 ${boldFontId} 0 R >> >> /Contents ${contentId} 0 R >>`;
    objects[contentId] = `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`;
  });

  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out, 'latin1');
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xrefAt = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

function num(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`buildLayoutPdf: not a finite number: ${n}`);
  return String(Math.round(n * 100) / 100);
}

function encode(s: string): string {
  if (!/^[\x20-\x7e\u2022]*$/.test(s)) throw new Error(`buildLayoutPdf supports printable ASCII and \u2022 only: ${JSON.stringify(s)}`);
  return s.replace(/[\\()]/g, (c) => `\\${c}`).replace(/\u2022/g, '\\225');
}
