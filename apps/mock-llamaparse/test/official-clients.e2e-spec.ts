import LlamaCloud, { toFile } from '@llamaindex/llama-cloud';
import { LlamaParseReader } from 'llama-cloud-services/reader';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_MARKDOWN, samplePdf } from '@app/testing';
import { ListeningTestApp, startListeningTestApp } from './helpers/test-app';
import { WebhookReceiver } from './helpers/webhook-receiver';

const API_KEY = 'llx-mock-test-key';

/** HMAC-SHA256 of the raw body, compared in constant time: how a receiver checks `LC-Signature`. */
function signatureValid(secret: string, rawBody: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Fast polling, no retries: the mock answers at once and a failure should show, not be retried. */
const POLL = { pollingInterval: 0.02, maxInterval: 0.05, backoff: 'constant' as const, timeout: 60 };

describe('official clients against the mock (e2e)', () => {
  let t: ListeningTestApp;
  let client: LlamaCloud;
  beforeAll(async () => {
    t = await startListeningTestApp({ MOCK_LLAMAPARSE_API_KEY: API_KEY, MOCK_LLAMAPARSE_WEBHOOK_BACKOFF_MS: '10' });
    client = new LlamaCloud({ apiKey: API_KEY, baseURL: t.baseUrl, maxRetries: 0 });
  });
  afterAll(() => t.close());

  describe('@llamaindex/llama-cloud parsing (v2)', () => {
    it('parses markdown: per-page markdown and text, typed items with page numbers', async () => {
      const result = await client.parsing.parse(
        {
          tier: 'fast',
          version: 'latest',
          upload_file: await toFile(Buffer.from('# Notes\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSome *text*.\n'), 'notes.md'),
          expand: ['markdown', 'text', 'items'],
        },
        POLL,
      );
      expect(result.job).toMatchObject({ status: 'COMPLETED', tier: 'fast', name: 'notes.md' });
      expect(result.markdown?.pages).toEqual([
        { page_number: 1, success: true, markdown: '# Notes\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSome *text*.\n' },
      ]);
      expect(result.text?.pages[0]).toMatchObject({ page_number: 1 });
      const page = result.items?.pages[0];
      expect(page).toMatchObject({ page_number: 1, success: true });
      expect(page && 'items' in page ? page.items : []).toEqual([
        { type: 'heading', level: 1, value: 'Notes', md: '# Notes' },
        expect.objectContaining({ type: 'table', rows: [['a', 'b'], ['1', '2']] }),
        { type: 'text', value: 'Some text.', md: 'Some *text*.' },
      ]);
    });

    it('parses the sample markdown fixture and a plain text file', async () => {
      const md = await client.parsing.parse(
        { tier: 'cost_effective', version: 'latest', upload_file: await toFile(Buffer.from(SAMPLE_MARKDOWN), 'sample.md'), expand: ['markdown'] },
        POLL,
      );
      expect(md.markdown?.pages[0]).toMatchObject({ page_number: 1, markdown: expect.stringContaining('# Notes') });
      const txt = await client.parsing.parse(
        { tier: 'agentic', version: 'latest', upload_file: await toFile(Buffer.from('hello\r\nworld'), 'a.txt'), expand: ['text', 'markdown'] },
        POLL,
      );
      expect(txt.text?.pages).toEqual([{ page_number: 1, text: 'hello\nworld' }]);
      expect(txt.markdown?.pages[0]).toMatchObject({ markdown: 'hello\nworld' });
    });

    it('parses a 2-page PDF page by page', async () => {
      const result = await client.parsing.parse(
        { tier: 'agentic_plus', version: 'latest', upload_file: await toFile(samplePdf(), 'report.pdf'), expand: ['markdown', 'items'] },
        POLL,
      );
      expect(result.job.status).toBe('COMPLETED');
      expect(result.markdown?.pages.map((p) => p.page_number)).toEqual([1, 2]);
      expect(result.markdown?.pages[0]).toMatchObject({ markdown: expect.stringContaining('Quarterly report') });
      expect(result.markdown?.pages[1]).toMatchObject({ markdown: expect.stringContaining('Second page heading') });
      const pages = result.items?.pages ?? [];
      expect(pages.map((p) => p.page_number)).toEqual([1, 2]);
      const second = pages[1];
      expect(second && 'items' in second ? second.items.map((i) => ('value' in i ? i.value : '')).join('\n') : '').toContain(
        'Costs were flat',
      );
    });

    it('reports a failed parse as FAILED (the client throws)', async () => {
      await expect(
        client.parsing.parse(
          { tier: 'fast', version: 'latest', upload_file: await toFile(Buffer.from('not a pdf'), 'broken.pdf'), expand: ['markdown'] },
          POLL,
        ),
      ).rejects.toThrow(/FAILED.*Could not read PDF/);
    });

    it('refuses a wrong API key and an unknown tier', async () => {
      const wrong = new LlamaCloud({ apiKey: 'nope', baseURL: t.baseUrl, maxRetries: 0 });
      await expect(wrong.parsing.get('x')).rejects.toMatchObject({ status: 401 });
      await expect(
        client.parsing.create({ tier: 'ultra', version: 'latest', upload_file: await toFile(Buffer.from('x'), 'a.txt') }),
      ).rejects.toMatchObject({ status: 400 });
      await expect(client.parsing.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
    });

    it('sends an LC-Signature-signed webhook for a job with a webhook configuration', async () => {
      const receiver = await WebhookReceiver.start();
      try {
        const secret = 'whsec_v2_0123456789';
        const job = await client.parsing.create({
          tier: 'fast',
          version: 'latest',
          upload_file: await toFile(samplePdf(), 'r.pdf'),
          webhook_configurations: [
            { webhook_url: receiver.url('/hooks/v2'), webhook_events: ['parse.success'], webhook_signing_secret: secret, webhook_output_format: 'json' },
            // Not asked for parse.success: never called.
            { webhook_url: receiver.url('/hooks/errors-only'), webhook_events: ['parse.error'], webhook_signing_secret: secret },
          ],
        });
        await receiver.waitFor(1);
        const hook = receiver.received[0];
        expect(hook.path).toBe('/hooks/v2');
        expect(hook.headers['content-type']).toBe('application/json');
        expect(signatureValid(secret, hook.rawBody, hook.headers['lc-signature'])).toBe(true);
        expect(signatureValid('another-secret', hook.rawBody, hook.headers['lc-signature'])).toBe(false);
        expect(hook.headers['x-webhook-signature']).toBeUndefined();
        expect(receiver.json(0)).toMatchObject({
          event_type: 'parse.success',
          data: { job_id: job.id, status: 'COMPLETED', tier: 'fast', version: 'latest', pages: 2 },
        });
        const done = await client.parsing.get(job.id);
        expect(done.job.status).toBe('COMPLETED');
        expect(receiver.received.map((r) => r.path)).toEqual(['/hooks/v2']);
      } finally {
        await receiver.close();
      }
    });

    it('takes tier, version and webhook_configurations as separate form fields, string output by default', async () => {
      const receiver = await WebhookReceiver.start();
      try {
        const form = new FormData();
        form.set('file', new Blob([Buffer.from('hi')]), 'a.txt');
        form.set('tier', 'fast');
        form.set('version', 'latest');
        form.set('webhook_configurations', JSON.stringify([{ webhook_url: receiver.url(), webhook_signing_secret: 'k' }]));
        const res = await fetch(`${t.baseUrl}/api/v2/parse/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${API_KEY}` } });
        expect(res.status).toBe(200);
        const job = (await res.json()) as { id: string; status: string };
        expect(['PENDING', 'RUNNING', 'COMPLETED']).toContain(job.status);
        await receiver.waitFor(1);
        const hook = receiver.received[0];
        expect(signatureValid('k', hook.rawBody, hook.headers['lc-signature'])).toBe(true);
        // `string` output: the body is the payload as a JSON-encoded string.
        const inner = receiver.json(0);
        expect(typeof inner).toBe('string');
        expect(JSON.parse(inner as string)).toMatchObject({ event_type: 'parse.success', data: { job_id: job.id } });
      } finally {
        await receiver.close();
      }
    });
  });

  describe('llama-cloud-services LlamaParseReader (v1)', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mock-llamaparse-reader-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    async function file(name: string, bytes: Buffer): Promise<string> {
      const path = join(dir, name);
      await writeFile(path, bytes);
      return path;
    }

    const reader = (resultType: 'markdown' | 'text' | 'json'): LlamaParseReader =>
      new LlamaParseReader({
        apiKey: API_KEY,
        baseUrl: t.baseUrl,
        resultType,
        checkInterval: 0.02,
        maxCheckInterval: 0.05,
        backoffPattern: 'constant',
        verbose: false,
        ignoreErrors: false,
      });

    it('loadData: markdown and text, one document per page', async () => {
      const pdf = await file('report.pdf', samplePdf());
      const md = await reader('markdown').loadData(pdf);
      expect(md.map((d) => d.text.trim())).toEqual([
        'Quarterly report\nRevenue grew by twelve percent.',
        'Second page heading\nCosts were flat (as planned).',
      ]);
      const text = await reader('text').loadData(await file('notes.md', Buffer.from(SAMPLE_MARKDOWN)));
      expect(text).toHaveLength(1);
      expect(text[0].text).toContain('# Notes');
    });

    it('loadJson: pages with page, text, md and typed items', async () => {
      const [result] = await reader('json').loadJson(await file('tables.md', Buffer.from('# Title\n\n| k | v |\n|---|---|\n| x | 1 |\n')));
      expect(result.job_id).toEqual(expect.any(String));
      expect(result.job_metadata).toMatchObject({ job_pages: 1 });
      expect(result.pages).toEqual([
        expect.objectContaining({
          page: 1,
          md: '# Title\n\n| k | v |\n|---|---|\n| x | 1 |\n',
          text: '# Title\n\n| k | v |\n|---|---|\n| x | 1 |\n',
          items: [
            { type: 'heading', lvl: 1, value: 'Title', md: '# Title' },
            expect.objectContaining({ type: 'table', rows: [['k', 'v'], ['x', '1']], isPerfectTable: true }),
          ],
        }),
      ]);
      const [pdf] = await reader('json').loadJson(await file('report.pdf', samplePdf()));
      expect(pdf.pages.map((p) => p.page)).toEqual([1, 2]);
      expect(pdf.pages[1].text).toContain('Costs were flat');
    });
  });
});
