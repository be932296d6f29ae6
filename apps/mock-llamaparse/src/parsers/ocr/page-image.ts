/** Image kinds of PDF.js decoded image objects (`ImageKind` in PDF.js). */
export const IMAGE_KIND = { GRAYSCALE_1BPP: 1, RGB_24BPP: 2, RGBA_32BPP: 3 } as const;

/** A decoded PDF image as PDF.js hands it over (`page.objs` entry, or the argument of an inline image). */
export interface PdfJsImage {
  width: number;
  height: number;
  kind?: number;
  data?: Uint8Array | Uint8ClampedArray;
}

/** Images smaller than this on either side (rules, bullets, logos' specks) are not worth an OCR pass. */
export const MIN_OCR_IMAGE_SIDE = 16;

/**
 * The image as a binary PGM (P5, 8-bit gray), which Tesseract's image reader (Leptonica) accepts from a Buffer:
 * RGB and RGBA are turned to luminance (alpha composited on white), 1-bit rows unpacked (a set bit is white, as
 * PDF.js paints them). `undefined` when the object has no pixel data PDF.js could decode, or is too small.
 */
export function toPgm(image: PdfJsImage): Buffer | undefined {
  const { width, height, data } = image;
  if (!data || !Number.isInteger(width) || !Number.isInteger(height)) return undefined;
  if (width < MIN_OCR_IMAGE_SIDE || height < MIN_OCR_IMAGE_SIDE) return undefined;
  const n = width * height;
  const gray = new Uint8Array(n);
  const kind = image.kind ?? kindFromLength(data.length, n);
  if (kind === IMAGE_KIND.GRAYSCALE_1BPP) {
    const rowBytes = (width + 7) >> 3;
    if (data.length < rowBytes * height) return undefined;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) gray[y * width + x] = data[y * rowBytes + (x >> 3)] & (0x80 >> (x & 7)) ? 255 : 0;
  } else if (kind === IMAGE_KIND.RGB_24BPP || kind === IMAGE_KIND.RGBA_32BPP) {
    const channels = kind === IMAGE_KIND.RGB_24BPP ? 3 : 4;
    if (data.length < n * channels) return undefined;
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      const luma = (data[p] * 299 + data[p + 1] * 587 + data[p + 2] * 114) / 1000;
      const alpha = channels === 4 ? data[p + 3] / 255 : 1;
      gray[i] = Math.round(luma * alpha + 255 * (1 - alpha));
    }
  } else if (data.length === n) {
    gray.set(data.subarray(0, n));
  } else {
    return undefined;
  }
  return Buffer.concat([Buffer.from(`P5\n${width} ${height}\n255\n`, 'latin1'), gray]);
}

function kindFromLength(length: number, pixels: number): number | undefined {
  if (length === pixels * 4) return IMAGE_KIND.RGBA_32BPP;
  if (length === pixels * 3) return IMAGE_KIND.RGB_24BPP;
  return undefined;
}
