import { deflateSync } from 'node:zlib';

/**
 * Image-only ("scanned") PDFs for OCR tests, built in code with no downloads: text is drawn with a 5x7 pixel
 * font (A-Z, 0-9, a little punctuation; lower case is drawn as upper case), scaled up, black on white, into an
 * 8-bit grayscale bitmap, then softened with a box blur (Tesseract's LSTM reads the blurred blocky glyphs far
 * better than the hard-edged ones: "INVOICE NUMBER 4821 / TOTAL AMOUNT DUE / QUARTERLY REVENUE REPORT" comes back
 * exact at scale 4 with radius 2, and with several wrong letters unblurred); the bitmap is embedded as a `/FlateDecode` image XObject (`/DeviceGray`, 8 bits) and
 * painted over the page. The PDF has no font and no text layer. Self-contained (node:* imports only).
 */

const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '##..#', '##..#', '#.#.#', '#..##', '#..##', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '.#.#.', '.#.#.', '.#.#.', '..#..', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ',': ['.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
};

const GLYPH_W = 5;
const GLYPH_H = 7;

export interface TextBitmapOptions {
  /** Pixels per font dot (default 4). */
  scale?: number;
  /** Box-blur radius in pixels (default scale / 2, rounded down; 0 = hard edges). */
  blur?: number;
  /** White border in pixels (default 4 dots). */
  margin?: number;
}

/** An 8-bit grayscale bitmap, row by row, top to bottom: 0 black, 255 white. */
export interface GrayBitmap {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Draws `lines` (characters of the 5x7 font only) black on white. */
export function rasterizeText(lines: readonly string[], options: TextBitmapOptions = {}): GrayBitmap {
  const scale = options.scale ?? 4;
  const margin = options.margin ?? 4 * scale;
  const upper = lines.map((l) => l.toUpperCase());
  for (const line of upper)
    for (const ch of line) if (!Object.hasOwn(GLYPHS, ch)) throw new Error(`rasterizeText: no glyph for ${JSON.stringify(ch)}`);
  const advance = (GLYPH_W + 1) * scale; // one dot between characters
  const lineHeight = (GLYPH_H + 4) * scale; // four dots between lines
  const columns = Math.max(1, ...upper.map((l) => l.length));
  const width = 2 * margin + columns * advance - scale;
  const height = 2 * margin + Math.max(1, upper.length) * lineHeight - 4 * scale;
  const pixels = new Uint8Array(width * height).fill(255);
  upper.forEach((line, row) => {
    [...line].forEach((ch, col) => {
      const glyph = GLYPHS[ch];
      const x0 = margin + col * advance;
      const y0 = margin + row * lineHeight;
      for (let gy = 0; gy < GLYPH_H; gy++)
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (glyph[gy][gx] !== '#') continue;
          for (let dy = 0; dy < scale; dy++) {
            const at = (y0 + gy * scale + dy) * width + x0 + gx * scale;
            pixels.fill(0, at, at + scale);
          }
        }
    });
  });
  return boxBlur({ width, height, pixels }, options.blur ?? Math.floor(scale / 2));
}

/** Separable box blur of radius `r` (edges clamped to the image). */
function boxBlur(bitmap: GrayBitmap, r: number): GrayBitmap {
  if (r <= 0) return bitmap;
  const { width, height, pixels } = bitmap;
  const pass = (src: Uint8Array, horizontal: boolean): Uint8Array => {
    const out = new Uint8Array(src.length);
    const [outer, inner] = horizontal ? [height, width] : [width, height];
    for (let a = 0; a < outer; a++)
      for (let b = 0; b < inner; b++) {
        let sum = 0;
        let n = 0;
        for (let d = Math.max(0, b - r); d <= Math.min(inner - 1, b + r); d++) {
          sum += src[horizontal ? a * width + d : d * width + a];
          n++;
        }
        out[horizontal ? a * width + b : b * width + a] = Math.round(sum / n);
      }
    return out;
  };
  return { width, height, pixels: pass(pass(pixels, true), false) };
}

export interface ImagePdfOptions extends TextBitmapOptions {
  /** Width of the drawn image on the page, in points (default 500; the page is 612 x 792). */
  drawWidth?: number;
}

/**
 * A PDF with one image-only page per entry of `pages` (each entry: the lines drawn into that page's bitmap).
 * No fonts, no text operators: a text extractor finds nothing, OCR finds the words.
 */
export function buildImagePdf(pages: readonly (readonly string[])[], options: ImagePdfOptions = {}): Buffer {
  if (pages.length === 0) throw new Error('a PDF needs at least one page');
  const drawWidth = options.drawWidth ?? 500;
  const pageIds = pages.map((_, i) => 3 + i * 3);
  const objects: Buffer[] = [];
  const text = (s: string) => Buffer.from(s, 'latin1');
  objects[1] = text('<< /Type /Catalog /Pages 2 0 R >>');
  objects[2] = text(`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`);
  pages.forEach((lines, i) => {
    const pageId = pageIds[i];
    const contentId = pageId + 1;
    const imageId = pageId + 2;
    const bitmap = rasterizeText(lines, options);
    const w = drawWidth;
    const h = Math.round((drawWidth * bitmap.height) / bitmap.width);
    const content = `q\n${w} 0 0 ${h} 56 ${792 - 72 - h} cm\n/Im1 Do\nQ`;
    const data = deflateSync(bitmap.pixels);
    objects[pageId] = text(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ` +
        `/Resources << /XObject << /Im1 ${imageId} 0 R >> >> /Contents ${contentId} 0 R >>`,
    );
    objects[contentId] = text(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    objects[imageId] = Buffer.concat([
      text(
        `<< /Type /XObject /Subtype /Image /Width ${bitmap.width} /Height ${bitmap.height} ` +
          `/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length ${data.length} >>\nstream\n`,
      ),
      data,
      text('\nendstream'),
    ]);
  });

  const chunks: Buffer[] = [text('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')];
  let size = chunks[0].length;
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = size;
    const obj = Buffer.concat([text(`${id} 0 obj\n`), objects[id], text('\nendobj\n')]);
    chunks.push(obj);
    size += obj.length;
  }
  let trailer = `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) trailer += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  trailer += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${size}\n%%EOF\n`;
  chunks.push(text(trailer));
  return Buffer.concat(chunks);
}
