import { randomUUID } from 'node:crypto';
import type { SearchResponse } from '@app/search';
import { buildPdf } from '@app/testing';
import { Stack, startStack, uploadDocument, waitForJobs } from './stack';

/** Three pages, each one paragraph on its own topic, each about 40 tokens: with 48-token chunks, a chunk a page. */
const PAGES = [
  ['Harbour logbook, first page.', 'The fishing boats left the harbour at dawn and returned with', 'mackerel, herring and a single enormous halibut for the market.'],
  ['Harbour logbook, second page.', 'A violent thunderstorm flooded the lighthouse cellar overnight;', 'the keeper pumped out the seawater with a hand-cranked bilge pump.'],
  ['Harbour logbook, third page.', 'The shipwright caulked the old schooner hull with oakum and pine tar', 'before repainting her name in gold letters on the transom.'],
];

/**
 * Page numbers end to end on the real stack: a three-page PDF parsed by the mock LlamaParse (through the v2 driver,
 * the default, and the v1 driver, which asks for the page separator), chunked with each chunk's pages in its meta,
 * searched through the api: the hit for a phrase on page 2 names page 2.
 */
describe.each(['v2', 'v1'])('page numbers of chunks and search hits (parser driver %s)', (driver) => {
  let stack: Stack;
  const user = randomUUID();
  let doc: { jobId: string; documentId: string };

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${stack.api.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${stack.token(user)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    stack = await startStack({ workerEnv: { PARSER_API_VERSION: driver, CHUNK_MAX_TOKENS: '48' } });
    doc = await uploadDocument(stack, stack.token(user), 'logbook.pdf', 'application/pdf', buildPdf(PAGES));
    const [job] = await waitForJobs(stack, [doc.jobId], 60_000);
    expect(job).toMatchObject({ stage: 'complete', state: 'done' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('every chunk keeps the page its text comes from; no page marker reaches a chunk', async () => {
    const chunks = await stack.sql<{ text: string; meta: { page_start?: number; page_end?: number } }>(
      `SELECT text, meta FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`,
      [doc.documentId],
    );
    expect(chunks.length).toBe(3);
    chunks.forEach((c, i) => {
      expect(c.text).not.toContain('<!--');
      expect(c.text).toContain(`logbook, ${['first', 'second', 'third'][i]} page`);
      expect(c.meta).toMatchObject({ page_start: i + 1, page_end: i + 1 });
    });
  });

  it('the search hit for a phrase on page 2 names page 2 (vector and hybrid); the document has 3 pages', async () => {
    for (const mode of ['vector', 'hybrid']) {
      const r = await api('POST', '/api/v2/search', { query: 'thunderstorm flooded the lighthouse cellar, bilge pump', mode });
      expect(r.status).toBe(200);
      const { results } = r.body as unknown as SearchResponse;
      expect(results[0]).toMatchObject({ document_id: doc.documentId, page_start: 2, page_end: 2 });
      expect(results[0].text).toContain('lighthouse cellar');
      for (const hit of results) expect(hit.page_start).toBe(hit.page_end);
    }
    const d = await api('GET', `/api/v2/documents/${doc.documentId}`);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ page_count: 3, chunk_count: 3, processing_status: 'complete' });
  });
});
