import { IMAGE_KIND, toPgm } from './page-image';

function pgmPixels(pgm: Buffer | undefined): { header: string; pixels: Buffer } {
  if (!pgm) throw new Error('no PGM');
  const header = pgm.subarray(0, pgm.indexOf('\n255\n') + 5).toString('latin1');
  return { header, pixels: pgm.subarray(header.length) };
}

describe('toPgm', () => {
  const w = 16;
  const h = 16;

  it('turns RGB into luminance', () => {
    const data = new Uint8Array(w * h * 3).fill(255);
    data.set([0, 0, 0], 0);
    const { header, pixels } = pgmPixels(toPgm({ width: w, height: h, kind: IMAGE_KIND.RGB_24BPP, data }));
    expect(header).toBe('P5\n16 16\n255\n');
    expect(pixels).toHaveLength(w * h);
    expect(pixels[0]).toBe(0);
    expect(pixels[1]).toBe(255);
  });

  it('composites RGBA on white', () => {
    const data = new Uint8Array(w * h * 4);
    data.set([0, 0, 0, 255], 0); // opaque black; the rest is transparent black
    const { pixels } = pgmPixels(toPgm({ width: w, height: h, kind: IMAGE_KIND.RGBA_32BPP, data }));
    expect(pixels[0]).toBe(0);
    expect(pixels[1]).toBe(255);
  });

  it('unpacks 1-bit rows (a set bit is white)', () => {
    const data = new Uint8Array(2 * h).fill(0xff);
    data[0] = 0x7f; // first pixel black
    const { pixels } = pgmPixels(toPgm({ width: w, height: h, kind: IMAGE_KIND.GRAYSCALE_1BPP, data }));
    expect([pixels[0], pixels[1], pixels[w]]).toEqual([0, 255, 255]);
  });

  it('skips tiny images and images without decoded pixels', () => {
    expect(toPgm({ width: 8, height: 8, kind: IMAGE_KIND.RGB_24BPP, data: new Uint8Array(8 * 8 * 3) })).toBeUndefined();
    expect(toPgm({ width: w, height: h, kind: IMAGE_KIND.RGB_24BPP })).toBeUndefined();
    expect(toPgm({ width: w, height: h, kind: IMAGE_KIND.RGB_24BPP, data: new Uint8Array(10) })).toBeUndefined();
  });
});
