import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Worker } from 'tesseract.js';

/** OCR ran past the document's time budget: the parse fails with this message. */
export class OcrTimeoutError extends Error {
  constructor(readonly budgetMs: number) {
    super(`OCR time budget exceeded: the document's OCR took longer than ${budgetMs} ms (MOCK_LLAMAPARSE_OCR_TIMEOUT_MS)`);
    this.name = 'OcrTimeoutError';
  }
}

/** Recognizes the text of one image (a Buffer in a format Tesseract reads: PGM, PNG, BMP, ...). */
export interface OcrRecognizer {
  /** Rejects with {@link OcrTimeoutError} when `deadline` (epoch ms) passes first; `budgetMs` is for the message. */
  recognize(image: Uint8Array, deadline: number, budgetMs: number): Promise<string>;
}

/**
 * Where the English traineddata lies: the LSTM-only `4.0.0_best_int` folder of the npm package
 * `@tesseract.js-data/eng` (2.9 MB gzipped; the package's default `4.0.0` folder also carries the legacy engine's
 * data, 10.9 MB, which the LSTM engine does not use). A local path, so tesseract.js reads the file and never fetches.
 */
export async function englishLangPath(): Promise<string> {
  const eng = await import('@tesseract.js-data/eng');
  return join(dirname(eng.langPath), '4.0.0_best_int');
}

/**
 * Tesseract (tesseract.js, WebAssembly in a Node worker thread, so recognition runs off the event loop): ONE worker,
 * created on first use and reused; recognitions run one at a time in arrival order. When a document's deadline
 * passes while its image is being recognized, the worker is terminated (the only way to stop a recognition) and a
 * fresh one is created by the next call. Offline: the WebAssembly core comes from `tesseract.js-core` in
 * node_modules, the traineddata from {@link englishLangPath}; the cache is off (`cacheMethod: 'none'`, `cachePath`
 * a temp directory in case a version ignores it).
 */
export class OcrEngine implements OcrRecognizer {
  private worker?: Promise<Worker>;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Images recognized since start (for tests and stats). */
  recognized = 0;
  /** Workers created since start. */
  workersCreated = 0;

  recognize(image: Uint8Array, deadline: number, budgetMs: number): Promise<string> {
    const run = this.tail.then(() => this.run(image, deadline, budgetMs));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset();
  }

  private async run(image: Uint8Array, deadline: number, budgetMs: number): Promise<string> {
    if (this.closed) throw new Error('OCR engine is shut down');
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new OcrTimeoutError(budgetMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OcrTimeoutError(budgetMs)), remaining);
    });
    try {
      const work = this.getWorker().then((w) => w.recognize(Buffer.from(image.buffer, image.byteOffset, image.byteLength)));
      const { data } = await Promise.race([work, timeout]);
      this.recognized++;
      return data.text;
    } catch (e) {
      if (e instanceof OcrTimeoutError) await this.reset();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private getWorker(): Promise<Worker> {
    this.worker ??= this.createWorker().catch((e: unknown) => {
      this.worker = undefined;
      throw e;
    });
    return this.worker;
  }

  private async createWorker(): Promise<Worker> {
    const { createWorker, OEM } = await import('tesseract.js');
    const langPath = await englishLangPath();
    this.workersCreated++;
    return createWorker('eng', OEM.LSTM_ONLY, {
      langPath,
      gzip: true,
      cachePath: join(tmpdir(), 'mock-llamaparse-tesseract'),
      cacheMethod: 'none',
    });
  }

  private async reset(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    try {
      await (await worker).terminate();
    } catch {
      // a worker that failed to start or is already gone has nothing to stop
    }
  }
}
