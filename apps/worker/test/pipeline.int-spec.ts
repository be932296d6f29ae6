import { randomUUID } from 'node:crypto';
import { SAMPLE_HTML, SAMPLE_PDF_PAGES, SECRETS_IN_SAMPLE_HTML, sampleDocx, samplePdf } from '@app/testing';
import { Stack, parserStatusChecks, startStack, uploadDocument, waitForJobs } from './stack';

const MD = `# Ingestion notes

The pipeline turns uploaded documents into searchable, embedded chunks.

## Chunking

Chunks are markdown-aware and bounded by tokens.
`;

describe('pipeline: the real stack carries documents to complete (api, worker, mocks as processes)', () => {
  let stack: Stack;
  const user = randomUUID();

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const docs = [
    { name: 'report.pdf', mime: 'application/pdf', bytes: () => samplePdf(), expect: [...SAMPLE_PDF_PAGES.flat()] },
    {
      name: 'charter.docx',
      mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      bytes: () => sampleDocx(),
      expect: ['Project Charter', 'reliable ingestion pipeline'],
    },
    { name: 'page.html', mime: 'text/html', bytes: () => Buffer.from(SAMPLE_HTML), expect: [] as string[], html: true },
    { name: 'notes.md', mime: 'text/markdown', bytes: () => Buffer.from(MD), expect: ['Ingestion notes', 'markdown-aware and bounded by tokens'] },
  ];

  it.each(docs.map((d) => [d.name, d] as const))('%s reaches complete/done with its real text embedded', async (_n, d) => {
    const token = stack.token(user);
    const statusChecks = await parserStatusChecks(stack.parser);
    const { jobId, documentId } = await uploadDocument(stack, token, d.name, d.mime, d.bytes());
    const [row] = await waitForJobs(stack, [jobId], 60_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
    // the parser's webhook was accepted (only a correctly signed one is logged): the worker handed the parser
    // the job's own secret, taken from the claimed row
    const hooks = await stack.sql<{ status: string }>(`SELECT status FROM upload_pipeline.webhook_log WHERE job_id = $1`, [jobId]);
    expect(hooks.length).toBeGreaterThan(0);
    // the default driver is LlamaParse v2: its webhook (LC-Signature, the job's secret) reports COMPLETED
    expect(hooks.map((h) => h.status)).toContain('COMPLETED');
    // and the webhook's SUCCESS was taken as the parse's status: the worker fetched the markdown without asking
    expect(await parserStatusChecks(stack.parser)).toBe(statusChecks);

    const chunks = await stack.sql<{ text: string; dims: number; chunk_id: string; ord: number; token_count: number }>(
      `SELECT text, coalesce(array_length(embedding::real[], 1), 0) AS dims, chunk_id, ord, token_count
       FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`,
      [documentId],
    );
    expect(chunks.length).toBeGreaterThan(0);
    const all = chunks.map((c) => c.text).join('\n');
    for (const phrase of d.expect) expect(all).toContain(phrase);
    if ('html' in d) {
      for (const secret of SECRETS_IN_SAMPLE_HTML) expect(all).not.toContain(secret);
      expect(all.length).toBeGreaterThan(10);
    }
    for (const c of chunks) expect(c.dims).toBe(1536);
    expect(chunks.map((c) => c.ord)).toEqual(chunks.map((_, i) => i));

    // buffers are gone, the document is complete, every event has the job's correlation id
    const [buf] = await stack.sql<{ n: number }>(
      `SELECT (SELECT count(*) FROM upload_pipeline.document_chunk_buffer WHERE document_id = $1)
            + (SELECT count(*) FROM upload_pipeline.document_vector_buffer WHERE document_id = $1) AS n`,
      [documentId],
    );
    expect(Number(buf.n)).toBe(0);
    const [doc] = await stack.sql<{ processing_status: string; chunk_count: number; parsed_sha256: string }>(
      `SELECT processing_status, chunk_count, parsed_sha256 FROM upload_pipeline.documents WHERE document_id = $1`,
      [documentId],
    );
    expect(doc).toMatchObject({ processing_status: 'complete', chunk_count: chunks.length });
    expect(doc.parsed_sha256).toMatch(/^[0-9a-f]{64}$/);
    const events = await stack.sql<{ event_type: string; stage: string; correlation_id: string }>(
      `SELECT event_type, stage, correlation_id FROM upload_pipeline.events WHERE job_id = $1 ORDER BY event_id`,
      [jobId],
    );
    expect(new Set(events.map((e) => e.correlation_id)).size).toBe(1);
    expect(events.at(-1)).toMatchObject({ event_type: 'finalized', stage: 'complete' });
    const stages = new Set(events.map((e) => e.stage));
    for (const s of ['uploaded', 'job_validated', 'parse_queued', 'parsing', 'parsed', 'parse_validated', 'chunking', 'chunks_stored', 'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete'])
      expect(stages).toContain(s);
    // Within one claim, the worker's events are in time order too: a step committed with the next stage's
    // (commitsWithNext) is dated when it was done, never before the claim or the step before it.
    const timed = await stack.sql<{ event_type: string; to_state: string; actor: string | null; t: number }>(
      `SELECT event_type, to_state, actor, extract(epoch FROM created_at)::float8 * 1000 AS t
       FROM upload_pipeline.events WHERE job_id = $1 ORDER BY event_id`,
      [jobId],
    );
    let claim: { actor: string | null; t: number } | null = null;
    for (const e of timed) {
      if (e.event_type === 'stage_started' && e.to_state === 'working') claim = e;
      else if (claim && e.actor === claim.actor) {
        expect(e.t).toBeGreaterThanOrEqual(claim.t);
        claim = e.to_state === 'working' ? { actor: e.actor, t: e.t } : null;
      }
    }

    // parsing's and parsed's transitions wait for chunking's statement, which also writes the chunk rows: one commit
    const commits = await stack.sql<{ tx: string }>(
      `SELECT DISTINCT xmin::text AS tx FROM upload_pipeline.events
       WHERE job_id = $1 AND event_type = 'stage_done' AND from_state = 'working' AND from_stage IN ('parsing', 'parsed', 'parse_validated', 'chunking')`,
      [jobId],
    );
    expect(commits).toHaveLength(1);

    // the job as the owner sees it
    const r = await fetch(`${stack.api.url}/api/v2/jobs/${jobId}`, { headers: { Authorization: `Bearer ${token}` } });
    const view = (await r.json()) as { stage: string; state: string; progress: { percent: number } };
    expect(view).toMatchObject({ stage: 'complete', state: 'done' });
    expect(view.progress.percent).toBe(100);
  });

  it('a document with no text dead-letters with its reason', async () => {
    const { jobId } = await uploadDocument(stack, stack.token(user), 'empty.md', 'text/markdown', Buffer.from('   \n\n  \n'));
    const [row] = await waitForJobs(stack, [jobId], 30_000);
    expect(row).toMatchObject({ stage: 'parsed', state: 'deadletter' });
    expect(row.last_error).toMatchObject({ kind: 'permanent', code: 'no_text' });
  });

  it('a corrupt PDF dead-letters with the parser reason, and retry brings it back', async () => {
    const token = stack.token(user);
    const statusChecks = await parserStatusChecks(stack.parser);
    const { jobId } = await uploadDocument(stack, token, 'broken.pdf', 'application/pdf', Buffer.from('%PDF-1.4 this is not really a pdf'));
    const [row] = await waitForJobs(stack, [jobId], 30_000);
    expect(row).toMatchObject({ stage: 'parsing', state: 'deadletter' });
    expect(row.last_error).toMatchObject({ kind: 'permanent', code: 'parse_failed' });
    // the webhook said ERROR: the reason comes from the parser's status answer
    expect(await parserStatusChecks(stack.parser)).toBeGreaterThan(statusChecks);
    expect(row.last_error?.message).toMatch(/^parser error: ./);
    const r = await fetch(`${stack.api.url}/api/v2/jobs/${jobId}/retry`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ stage: 'parse_queued', retry_count: 0, last_error: null });
    // it fails again for the same reason (the bytes are still broken): resubmitted, not stuck
    const [again] = await waitForJobs(stack, [jobId], 30_000);
    expect(again).toMatchObject({ stage: 'parsing', state: 'deadletter' });
    const other = await fetch(`${stack.api.url}/api/v2/jobs/${jobId}/retry`, { method: 'POST', headers: { Authorization: `Bearer ${stack.token()}` } });
    expect(other.status).toBe(404);
  });

  it('re-running a finished stage writes nothing twice', async () => {
    const token = stack.token(user);
    const { jobId, documentId } = await uploadDocument(stack, token, 'rerun.md', 'text/markdown', Buffer.from(`${MD}\n\nrerun ${randomUUID()}\n`));
    await waitForJobs(stack, [jobId]);
    const before = await stack.sql<{ chunk_id: string }>(`SELECT chunk_id FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`, [documentId]);
    // send the job back to chunking by hand, as if a crash had made it run again
    await stack.sql(
      `UPDATE upload_pipeline.upload_jobs SET stage = 'chunking', state = 'queued', completed_at = NULL WHERE job_id = $1`,
      [jobId],
    );
    const [row] = await waitForJobs(stack, [jobId]);
    expect(row).toMatchObject({ stage: 'complete', state: 'done' });
    const after = await stack.sql<{ chunk_id: string }>(`SELECT chunk_id FROM upload_pipeline.document_chunks WHERE document_id = $1 ORDER BY ord`, [documentId]);
    expect(after).toEqual(before);
  });
});
