import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildImagePdf, rasterizeText, samplePdf } from '@app/testing';
import { DocumentParseError } from './parser';
import { PdfOcrSettings, PdfParser } from './pdf.parser';
import { OcrEngine, OcrRecognizer, OcrTimeoutError, englishLangPath } from './ocr/ocr.engine';
import { toPgm } from './ocr/page-image';

/** The test image: three distinct words, drawn with a pixel font; OCR is not perfect, so 2 of 3 must come back. */
const OCR_LINES = ['INVOICE NUMBER 4821', 'TOTAL AMOUNT DUE'];
const WORDS = ['invoice', 'total', 'amount'];
const found = (text: string) => WORDS.filter((w) => text.toLowerCase().includes(w));

describe('PdfParser OCR (tesseract.js, offline)', () => {
  const engine = new OcrEngine();
  const settings = (over: Partial<PdfOcrSettings> = {}): PdfOcrSettings => ({
    recognizer: engine,
    byDefault: true,
    maxPages: 20,
    timeoutMs: 60_000,
    ...over,
  });
  afterAll(() => engine.close());

  it('reads the traineddata from the npm package (a local path: tesseract.js reads it, never fetches)', async () => {
    const langPath = await englishLangPath();
    expect(langPath).not.toMatch(/^[a-z]+:\/\//i);
    expect(existsSync(join(langPath, 'eng.traineddata.gz'))).toBe(true);
  });

  it('reads an image-only page by OCR when asked', async () => {
    const { pages, ocrPages } = await new PdfParser(settings({ byDefault: false })).parse(buildImagePdf([OCR_LINES]), 'pdf', {
      ocr: true,
    });
    expect(ocrPages).toBe(1);
    expect(pages).toHaveLength(1);
    expect(found(pages[0].text).length).toBeGreaterThanOrEqual(2);
    expect(pages[0].markdown).toBe(pages[0].text);
  });

  it('runs no OCR when the upload turns it off, nor by default when the default is off', async () => {
    const before = engine.recognized;
    const off = await new PdfParser(settings()).parse(buildImagePdf([OCR_LINES]), 'pdf', { ocr: false });
    expect(off).toEqual({ pages: [{ markdown: '', text: '' }], ocrPages: 0 });
    const defaultOff = await new PdfParser(settings({ byDefault: false })).parse(buildImagePdf([OCR_LINES]), 'pdf');
    expect(defaultOff.ocrPages).toBe(0);
    expect(engine.recognized).toBe(before);
  });

  it('runs no OCR on a PDF with a text layer', async () => {
    const before = engine.recognized;
    const { pages, ocrPages } = await new PdfParser(settings()).parse(samplePdf(), 'pdf', { ocr: true });
    expect(ocrPages).toBe(0);
    expect(pages[0].text).toContain('Quarterly report');
    expect(engine.recognized).toBe(before);
  });

  it('fails over the page limit before any OCR runs', async () => {
    const before = engine.recognized;
    const parse = new PdfParser(settings({ maxPages: 1 })).parse(buildImagePdf([['A B C'], ['D E F']]), 'pdf', { ocr: true });
    await expect(parse).rejects.toThrow(DocumentParseError);
    await expect(parse).rejects.toMatchObject({ code: 'OCR_PAGE_LIMIT', message: expect.stringMatching(/OCR page limit exceeded: 2 pages/) });
    expect(engine.recognized).toBe(before);
  });

  it('fails with OCR_TIMEOUT when the time budget runs out', async () => {
    // a recognizer that never finishes before the deadline
    const slow: OcrRecognizer = {
      recognize: (_image, deadline, budgetMs) =>
        new Promise((_, reject) => setTimeout(() => reject(new OcrTimeoutError(budgetMs)), Math.max(0, deadline - Date.now()))),
    };
    const parse = new PdfParser(settings({ recognizer: slow, timeoutMs: 5 })).parse(buildImagePdf([OCR_LINES]), 'pdf', { ocr: true });
    await expect(parse).rejects.toMatchObject({ code: 'OCR_TIMEOUT', message: expect.stringMatching(/OCR time budget exceeded/) });
  });

  it('stops the Tesseract worker when a deadline passes mid-recognition and starts a fresh one next time', async () => {
    const own = new OcrEngine();
    const bitmap = rasterizeText(OCR_LINES);
    const image = toPgm({ width: bitmap.width, height: bitmap.height, data: bitmap.pixels }) ?? Buffer.alloc(0);
    try {
      expect(found(await own.recognize(image, Date.now() + 60_000, 60_000)).length).toBeGreaterThanOrEqual(2);
      expect(own.workersCreated).toBe(1);
      // the warm worker needs far more than 20 ms for this image: the deadline passes while it works
      await expect(own.recognize(image, Date.now() + 20, 20)).rejects.toThrow(OcrTimeoutError);
      expect(found(await own.recognize(image, Date.now() + 60_000, 60_000)).length).toBeGreaterThanOrEqual(2);
      expect(own.workersCreated).toBe(2);
    } finally {
      await own.close();
    }
  });
});
