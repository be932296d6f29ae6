import { randomUUID } from 'node:crypto';
import type { SearchResponse } from '@app/search';
import { buildImagePdf } from '@app/testing';
import { Stack, startStack, uploadDocument, waitForJobs } from './stack';

/**
 * Scanned documents on the real stack: the upload's `ocr: true` reaches the parser (LlamaParse v2's
 * `ignore_text_in_image: false`), mock-llamaparse reads the image-only page with tesseract.js (offline traineddata),
 * and the words are found by search; a scan in which nothing can be read is dead-lettered as `no_text`.
 */
describe('OCR: an image-only PDF on the real stack', () => {
  let stack: Stack;
  const user = randomUUID();

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const search = async (query: string): Promise<SearchResponse> => {
    const r = await fetch(`${stack.api.url}/api/v2/search`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.token(user)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query, top_k: 5 }),
    });
    expect(r.status).toBe(200);
    return (await r.json()) as SearchResponse;
  };

  it('uploaded with ocr: true, completes and its text is found by search', async () => {
    const scan = buildImagePdf([['INVOICE NUMBER 4821', 'TOTAL AMOUNT DUE']]);
    const { jobId, documentId } = await uploadDocument(stack, stack.token(user), 'scan.pdf', 'application/pdf', scan, { ocr: true });
    const [row] = await waitForJobs(stack, [jobId], 90_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
    const chunks = await stack.sql<{ text: string }>(`SELECT text FROM upload_pipeline.document_chunks WHERE document_id = $1`, [documentId]);
    const text = chunks.map((c) => c.text.toUpperCase()).join(' ');
    // OCR is not exact: most of the words are enough
    expect(['INVOICE', 'TOTAL', 'AMOUNT'].filter((w) => text.includes(w)).length).toBeGreaterThanOrEqual(2);
    const hits = await search('invoice total amount due');
    expect(hits.results[0]).toMatchObject({ document_id: documentId });
  });

  it('a scan with nothing readable is dead-lettered as no_text, with a reason the user can act on', async () => {
    const blank = buildImagePdf([['']]);
    const { jobId } = await uploadDocument(stack, stack.token(user), 'blank.pdf', 'application/pdf', blank, { ocr: true });
    const [row] = await waitForJobs(stack, [jobId], 90_000);
    expect(row).toMatchObject({ state: 'deadletter', last_error: { code: 'no_text' } });
    expect(row.last_error?.message).toMatch(/no readable text/);
  });
});
