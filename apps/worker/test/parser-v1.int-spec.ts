import { randomUUID } from 'node:crypto';
import { samplePdf } from '@app/testing';
import { Stack, parserStatusChecks, setFaults, startStack, uploadDocument, waitForJobs } from './stack';

/**
 * The second parser driver, LlamaParse v1 (PARSER_API_VERSION=v1), through the real stack; and the parser's
 * out-of-credit and partial-success answers, injected by the mock (its upload faults apply to v1 and v2 alike).
 */
describe('pipeline with the LlamaParse v1 driver (real stack)', () => {
  let stack: Stack;
  const user = randomUUID();

  beforeAll(async () => {
    stack = await startStack({ workerEnv: { PARSER_API_VERSION: 'v1' } });
  });
  afterEach(async () => {
    await setFaults(stack.parser, { fail402Rate: 0, partialSuccessRate: 0, dropWebhookRate: 0 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('carries a PDF to complete; the v1 webhook (X-Webhook-Signature) reports SUCCESS', async () => {
    const { jobId, documentId } = await uploadDocument(stack, stack.token(user), 'v1.pdf', 'application/pdf', samplePdf());
    const [row] = await waitForJobs(stack, [jobId], 60_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
    const hooks = await stack.sql<{ status: string }>(`SELECT status FROM upload_pipeline.webhook_log WHERE job_id = $1`, [jobId]);
    expect(hooks.map((h) => h.status)).toContain('SUCCESS');
    const [{ n }] = await stack.sql<{ n: number }>(`SELECT count(*)::int AS n FROM upload_pipeline.document_chunks WHERE document_id = $1`, [documentId]);
    expect(n).toBeGreaterThan(0);
  });

  it('a PARTIAL_SUCCESS status (no webhook: the worker polls) counts as success', async () => {
    await setFaults(stack.parser, { partialSuccessRate: 1, dropWebhookRate: 1 });
    const checks = await parserStatusChecks(stack.parser);
    const { jobId } = await uploadDocument(stack, stack.token(user), 'partial.md', 'text/markdown', Buffer.from('# Partial\n\nSome pages parsed.\n'));
    const [row] = await waitForJobs(stack, [jobId], 60_000);
    expect(row).toMatchObject({ stage: 'complete', state: 'done', last_error: null });
    expect(await parserStatusChecks(stack.parser)).toBeGreaterThan(checks);
  });

  it('an upload answered 402 dead-letters the job parser_quota_exhausted with a message the user can act on', async () => {
    await setFaults(stack.parser, { fail402Rate: 1 });
    const { jobId } = await uploadDocument(stack, stack.token(user), 'quota.md', 'text/markdown', Buffer.from('# Quota\n\nNo credits left.\n'));
    const [row] = await waitForJobs(stack, [jobId], 60_000);
    expect(row).toMatchObject({ stage: 'parse_queued', state: 'deadletter' });
    expect(row.last_error).toMatchObject({ kind: 'permanent', code: 'parser_quota_exhausted' });
    expect(row.last_error?.message).toMatch(/out of credits.*Add credits/);
  });
});
