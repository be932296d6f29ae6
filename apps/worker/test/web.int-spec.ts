import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { SAMPLE_HTML, SAMPLE_MARKDOWN, sampleDocx, samplePdf } from '@app/testing';
import { Stack, startStack } from './stack';

/**
 * The web page (apps/api/src/web) driven by a real headless Chromium against the real stack (api,
 * worker, mock parser and embedder as processes): sign in with a token, upload the four document
 * types and watch them reach complete, search, delete, and retry a dead letter.
 */
const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(__dirname, '../../..');
const SCREENSHOT = join(ROOT, 'test-artifacts', 'web-progress.png');
// What helmet is to send, and stricter (no inline styles either): the page must work under it.
const STRICT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

interface JobView {
  job_id: string;
  stage: string;
  state: string;
  events: { type: string; detail: Record<string, unknown> | null }[];
}

describe('web page: a person uploads, watches, searches, deletes and retries in a real browser', () => {
  let stack: Stack;
  let context: BrowserContext;
  let page: Page;
  let profileDir = '';
  let fixtures = '';
  const user = randomUUID();
  let token = '';
  const problems: string[] = []; // page errors and CSP violations

  const files = {
    'report.pdf': samplePdf(),
    'charter.docx': sampleDocx(),
    'page.html': Buffer.from(SAMPLE_HTML),
    'notes.md': Buffer.from(SAMPLE_MARKDOWN),
  };

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${stack.api.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { error?: { message: string } } };
  };
  const rowOf = (filename: string): Locator =>
    page.locator('[data-testid="job-row"]', { has: page.locator('[data-testid="job-filename"]', { hasText: filename }) });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`web.int-spec needs Chromium at ${CHROMIUM}: install it (Debian: apt-get install -y chromium)`);
    }
    stack = await startStack();
    token = stack.token(user);
    fixtures = mkdtempSync(join(tmpdir(), 'web-fixtures-'));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(fixtures, name), bytes);
    writeFileSync(join(fixtures, 'broken.pdf'), '%PDF-1.4 this is not really a pdf, web test');
    writeFileSync(join(fixtures, 'empty.txt'), '');

    profileDir = mkdtempSync(join(tmpdir(), 'web-chromium-profile-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 1000 },
      timeout: 30_000,
    });
    context.setDefaultTimeout(15_000);
    // Serve the page under a strict CSP: an inline script or style would be refused and reported.
    await context.route(new RegExp(`^${stack.api.url}/(app)?$`), async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': STRICT_CSP } });
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${stack.api.url}/`);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await stack?.close();
    for (const dir of [profileDir, fixtures]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page, its script and styles; a refused token shows the API error, a minted one signs in', async () => {
    expect(await page.title()).toBe('Ingest: documents');
    await expect(page.getByLabel('Access token (JWT)').isVisible()).resolves.toBe(true);
    expect(await page.locator('#token-hint').textContent()).toContain('npm run -s token');

    const refused = await fetch(`${stack.api.url}/api/v2/jobs?limit=1`, { headers: { Authorization: 'Bearer not-a-token' } });
    const refusedMessage = ((await refused.json()) as { error: { message: string } }).error.message;
    await page.getByTestId('token-input').fill('not-a-token');
    await page.getByTestId('signin-button').click();
    await page.getByTestId('signin-status').filter({ hasText: refusedMessage }).waitFor();
    expect(await page.getByTestId('upload-form').isVisible()).toBe(false);

    await page.getByTestId('token-input').fill(token);
    await page.getByTestId('signin-button').click();
    await page.getByTestId('signed-in-as').filter({ hasText: user }).waitFor();
    expect(await page.evaluate<string | null>('sessionStorage.getItem("ingest.token")')).toBe(token);
    expect(await page.getByTestId('jobs-empty').textContent()).toBe('No documents yet.');
    expect(problems).toEqual([]);
  }, 30_000);

  it('an upload the API refuses shows the error from its body', async () => {
    await page.getByTestId('file-input').setInputFiles(join(fixtures, 'empty.txt'));
    await page.getByTestId('upload-button').click();
    const line = page.getByTestId('upload-line').filter({ hasText: 'empty.txt' });
    await line.filter({ hasText: 'upload failed' }).waitFor();
    expect(await line.textContent()).toMatch(/empty\.txt: upload failed: Request validation failed \(bytes_len: .+\)/);
  }, 30_000);

  it('uploads the four document types and each row goes live to complete at 100%', async () => {
    await page.getByTestId('file-input').setInputFiles(Object.keys(files).map((n) => join(fixtures, n)));
    await page.getByTestId('upload-button').click();

    // every state each row shows, as the page renders it (in-page code as strings: no DOM types here)
    await page.evaluate(`(() => {
      window.seenStates = [];
      const text = (tr, id) => tr.querySelector('[data-testid="' + id + '"]').textContent;
      new MutationObserver(() => {
        for (const tr of document.querySelectorAll('[data-testid="job-row"]'))
          window.seenStates.push(text(tr, 'job-filename') + '|' + text(tr, 'job-state') + '|' + text(tr, 'job-percent'));
      }).observe(document.getElementById('jobs-body'), { subtree: true, childList: true, attributes: true, characterData: true });
    })()`);
    await page.getByTestId('file-input').setInputFiles(Object.keys(files).map((n) => join(fixtures, n)));
    await page.getByTestId('upload-button').click();
    await page.locator('[data-testid="job-row"][data-state="done"]').nth(3).waitFor({ timeout: 60_000 });

    const rows = await page.evaluate<{ name: string; stage: string; state: string; percent: string; bar: number }[]>(
      `[...document.querySelectorAll('[data-testid="job-row"]')].map((tr) => ({
        name: tr.querySelector('[data-testid="job-filename"]').textContent,
        stage: tr.querySelector('[data-testid="job-stage"]').textContent,
        state: tr.querySelector('[data-testid="job-state"]').textContent,
        percent: tr.querySelector('[data-testid="job-percent"]').textContent,
        bar: tr.querySelector('progress').value,
      }))`,
    );
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(files).sort());
    for (const r of rows) expect(r).toMatchObject({ stage: 'complete', state: 'done', percent: '100%', bar: 100 });
    // live: each row first showed its job still under way, and later done at 100% without a reload
    const seen = await page.evaluate<string[]>('window.seenStates');
    for (const name of Object.keys(files)) {
      const states = seen.filter((s) => s.startsWith(`${name}|`)).map((s) => s.slice(name.length + 1));
      expect(states[0]).not.toMatch(/^done/);
      expect(states.at(-1)).toBe('done|100%');
    }
    // the per-job poll fetched the history (the list has none): it ends with the job finalized
    for (const name of Object.keys(files)) {
      await rowOf(name).getByTestId('job-history').click();
      expect(await rowOf(name).getByTestId('job-events').textContent()).toContain('finalized · complete → done');
      await rowOf(name).getByTestId('job-history').click(); // closed again, for a compact screenshot
    }
    expect(await page.getByTestId('dead-empty').isVisible()).toBe(true);
    expect(problems).toEqual([]);
  }, 90_000);

  it('searches with a question and shows the right document on top (or says search is not there yet)', async () => {
    const probe = await call('POST', '/api/v2/search', { query: 'probe', top_k: 1 });
    await page.getByTestId('search-input').fill('How much did revenue grow in the quarterly report?');
    await page.getByTestId('search-button').click();
    if (probe.status === 404) {
      await page.getByTestId('search-status').filter({ hasText: 'Search is not available on this server yet' }).waitFor();
      return;
    }
    await page.getByTestId('search-status').filter({ hasText: /^\d+ results?$/ }).waitFor();
    const first = page.getByTestId('search-result').first();
    expect(await first.getByTestId('result-filename').textContent()).toBe('report.pdf');
    expect(await first.getByTestId('result-score').textContent()).toMatch(/^score -?\d\.\d{3}$/);
    expect(await first.textContent()).toContain('Revenue grew by twelve percent.');

    await page.getByTestId('search-input').fill('What is the goal of the project charter?');
    await page.getByTestId('search-button').click();
    await page.getByTestId('search-result').first().getByTestId('result-filename').filter({ hasText: 'charter.docx' }).waitFor();
  }, 30_000);

  it('deletes a document: its row goes and stays gone (or says delete is not there yet)', async () => {
    const row = rowOf('notes.md');
    const documentId = await row.getAttribute('data-document-id');
    expect(documentId).toMatch(/^[0-9a-f-]{36}$/);
    const probe = await call('DELETE', `/api/v2/documents/${randomUUID()}`);
    const routeMissing = probe.status === 404 && /^Route not found/.test(probe.body?.error?.message ?? '');

    page.once('dialog', (d) => void d.accept());
    await row.getByTestId('delete-button').click();
    if (routeMissing) {
      await page.getByTestId('jobs-status').filter({ hasText: 'Deleting documents is not available on this server yet' }).waitFor();
      expect(await row.count()).toBe(1);
      return;
    }
    await row.waitFor({ state: 'detached' });
    expect((await call('GET', `/api/v2/documents/${documentId}`)).status).toBe(404);
    await page.waitForTimeout(2500); // a list refresh later it is still gone
    expect(await rowOf('notes.md').count()).toBe(0);
    expect(await page.getByTestId('job-row').count()).toBe(3);
    expect(await page.getByTestId('upload-status').textContent()).toContain('notes.md: deleted');
    // its chunks went too: a search for its words finds nothing of it
    const search = await call('POST', '/api/v2/search', { query: 'Notes: first item, second item', top_k: 50 });
    if (search.status !== 404) {
      expect(search.status).toBe(200);
      const results = (search.body as unknown as { results: { document_id: string }[] }).results;
      expect(results.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.document_id === documentId)).toEqual([]);
    }
  }, 30_000);

  it('a corrupt PDF lands in dead letters with its reason; Retry from the page runs it again', async () => {
    await page.getByTestId('file-input').setInputFiles(join(fixtures, 'broken.pdf'));
    await page.getByTestId('upload-button').click();
    const dead = page.getByTestId('deadletter-row').filter({ hasText: 'broken.pdf' });
    await dead.waitFor({ timeout: 45_000 });
    expect(await dead.getByTestId('deadletter-stage').textContent()).toContain('failed at parsing (parse_failed)');
    expect((await dead.getByTestId('deadletter-error').textContent())?.length).toBeGreaterThan(5);
    const jobId = (await dead.getAttribute('data-job-id')) ?? '';
    const before = (await call('GET', `/api/v2/jobs/${jobId}`)).body as unknown as JobView;
    expect(before.events.filter((e) => e.type === 'retry')).toHaveLength(0);

    await dead.getByRole('button', { name: 'Retry broken.pdf' }).click();
    // the page shows the retry in the job's history, then the job dead-letters again (the bytes are still broken)
    const row = rowOf('broken.pdf');
    await row.getByTestId('job-events').locator('li', { hasText: /^retry · / }).waitFor({ state: 'attached' });
    await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"][data-state="deadletter"]`).waitFor({ timeout: 45_000 });
    await dead.waitFor();

    const after = (await call('GET', `/api/v2/jobs/${jobId}`)).body as unknown as JobView;
    expect(after).toMatchObject({ stage: 'parsing', state: 'deadletter' });
    const retries = after.events.filter((e) => e.type === 'retry');
    expect(retries).toHaveLength(1);
    expect(retries[0].detail).toMatchObject({ previous_error: { code: 'parse_failed' } });
    expect(after.events.filter((e) => e.type === 'error').length).toBe(2);
    expect(problems).toEqual([]);

    await row.getByTestId('job-history').click();
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }, 90_000);
});
