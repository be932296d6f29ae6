import request from 'supertest';
import { buildImagePdf } from '@app/testing';
import { TestApp, startTestApp, waitForJob } from './helpers/test-app';

/** One small image-only page (no text layer): the words come back only through OCR. */
const SCAN = buildImagePdf([['INVOICE NUMBER 4821', 'TOTAL AMOUNT DUE']]);
const WORDS = ['invoice', 'total', 'amount'];
const found = (text: string) => WORDS.filter((w) => text.toLowerCase().includes(w));

interface Markdown {
  markdown: string;
  job_metadata: { job_pages: number; ocr_pages: number };
}

describe('mock-llamaparse OCR of image-only PDF pages (e2e)', () => {
  describe('default on', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    async function v1(fields: Record<string, string>): Promise<Markdown> {
      const req = request(t.http).post('/api/v1/parsing/upload').attach('file', SCAN, 'scan.pdf');
      for (const [k, v] of Object.entries(fields)) void req.field(k, v);
      const res = await req;
      expect(res.status).toBe(200);
      const id = (res.body as { id: string }).id;
      expect(await waitForJob(t.http, id)).toEqual({ id, status: 'SUCCESS' });
      return (await request(t.http).get(`/api/v1/parsing/job/${id}/result/markdown`)).body as Markdown;
    }

    it('v1: OCRs by default (no disable_ocr) and reports ocr_pages', async () => {
      const body = await v1({});
      expect(found(body.markdown).length).toBeGreaterThanOrEqual(2);
      expect(body.job_metadata).toMatchObject({ job_pages: 1, ocr_pages: 1 });
    });

    it('v1: disable_ocr=true runs no OCR', async () => {
      const body = await v1({ disable_ocr: 'true' });
      expect(body).toMatchObject({ markdown: '', job_metadata: { job_pages: 1, ocr_pages: 0 } });
    });

    it('v1: a bad disable_ocr is a 400', async () => {
      const res = await request(t.http).post('/api/v1/parsing/upload').attach('file', SCAN, 'scan.pdf').field('disable_ocr', 'maybe');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ detail: 'Invalid disable_ocr: must be true or false' });
    });

    it('v2: processing_options.ignore.ignore_text_in_image=true runs no OCR', async () => {
      const config = { tier: 'fast', version: 'latest', processing_options: { ignore: { ignore_text_in_image: true } } };
      const res = await request(t.http).post('/api/v2/parse/upload').field('configuration', JSON.stringify(config)).attach('file', SCAN, 'scan.pdf');
      expect(res.status).toBe(200);
      const id = (res.body as { id: string }).id;
      const got = await pollV2(t, id);
      expect(got.markdown_full).toBe('');
      expect(got.job_metadata).toMatchObject({ job_pages: 1, ocr_pages: 0 });
    });

    it('v2: a bad ignore_text_in_image is a 400', async () => {
      const config = { tier: 'fast', version: 'latest', processing_options: { ignore: { ignore_text_in_image: 'yes' } } };
      const res = await request(t.http).post('/api/v2/parse/upload').field('configuration', JSON.stringify(config)).attach('file', SCAN, 'scan.pdf');
      expect(res.status).toBe(400);
    });
  });

  describe('default off (MOCK_LLAMAPARSE_OCR_DEFAULT=off)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ MOCK_LLAMAPARSE_OCR_DEFAULT: 'off' });
    });
    afterAll(() => t.close());

    it('v2: no OCR unless asked; ignore_text_in_image=false asks for it', async () => {
      const upload = async (extra: object) => {
        const config = { tier: 'fast', version: 'latest', ...extra };
        const res = await request(t.http).post('/api/v2/parse/upload').field('configuration', JSON.stringify(config)).attach('file', SCAN, 'scan.pdf');
        expect(res.status).toBe(200);
        return pollV2(t, (res.body as { id: string }).id);
      };
      const plain = await upload({});
      expect(plain.job_metadata).toMatchObject({ ocr_pages: 0 });
      const asked = await upload({ processing_options: { ignore: { ignore_text_in_image: false } } });
      expect(asked.job_metadata).toMatchObject({ job_pages: 1, ocr_pages: 1 });
      expect(found(asked.markdown_full ?? '').length).toBeGreaterThanOrEqual(2);
    });
  });
});

async function pollV2(t: TestApp, id: string): Promise<{ markdown_full?: string; job_metadata?: Record<string, unknown> }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await request(t.http).get(`/api/v2/parse/${id}?expand=markdown_full,job_metadata`);
    expect(res.status).toBe(200);
    const body = res.body as { job: { status: string; error_message: string | null }; markdown_full?: string; job_metadata?: Record<string, unknown> };
    if (body.job.status === 'COMPLETED') return body;
    if (body.job.status === 'FAILED' || body.job.status === 'CANCELLED') throw new Error(`job ${id}: ${body.job.status} ${body.job.error_message}`);
    if (Date.now() > deadline) throw new Error(`job ${id} not done after 20 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
