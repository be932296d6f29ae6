import { readFileSync } from 'node:fs';
import { MIME, SAMPLE_HTML, hostileCorpus, normalMarkdown, sampleDocx, samplePdf } from '@app/testing';
import { AppProcess, JobRow, metricValue, Stack, startStack, uploadDocument, waitForJobs } from './stack';

/** Resident set of an app process in bytes: /proc/<pid>/status (VmRSS), else its /metrics. */
async function rssBytes(app: AppProcess): Promise<number> {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${app.child.pid}/status`, 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* no procfs: ask the app */
  }
  return metricValue(await (await fetch(`${app.url}/metrics`)).text(), 'process_resident_memory_bytes');
}

const MB = 1024 * 1024;
const mb = (n: number) => Math.round(n / MB);
/** How far over its idle RSS an app may stay after the hostile documents settled. */
const NEAR_IDLE_MB = 60;
/** Bounded wait for every document (poison or not) to reach a terminal state. */
const TERMINAL_WAIT_MS = 90_000;
/** Poison outcomes that say clearly what was wrong with the document. */
const CLEAR_CODES = ['parse_failed', 'too_large', 'too_complex', 'no_text', 'empty_document'];

describe('poison documents cannot stall the pipeline', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('every poison document ends terminal, a normal one next to them completes, apps stay ready and memory comes back', async () => {
    const apps = [stack.api, stack.parser, stack.embedder, ...stack.workers];
    const token = stack.token();

    // Warm-up: one normal document of each type through every stage, so "idle" includes what each parser and the
    // chunking thread load once (PDF.js, mammoth, the tokenizer), not only what an app holds at start.
    const warm = await Promise.all([
      uploadDocument(stack, token, 'warm-up.md', MIME.md, normalMarkdown('warm-up')),
      uploadDocument(stack, token, 'warm-up.pdf', MIME.pdf, samplePdf()),
      uploadDocument(stack, token, 'warm-up.docx', MIME.docx, sampleDocx()),
      uploadDocument(stack, token, 'warm-up.html', MIME.html, Buffer.from(SAMPLE_HTML)),
    ]);
    const warmRows = await waitForJobs(stack, warm.map((w) => w.jobId), 30_000);
    expect(warmRows.map((r) => r.state)).toEqual(['done', 'done', 'done', 'done']);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = { parser: await rssBytes(stack.parser), worker: await rssBytes(stack.workers[0]) };

    // Readiness of every app, polled the whole time the documents run.
    const health = { polls: 0, failures: [] as string[], slowestMs: 0 };
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await Promise.all(
          apps.map(async (app) => {
            const t = Date.now();
            try {
              const r = await fetch(`${app.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
              if (r.status !== 200) health.failures.push(`${app.name}: ${r.status} ${await r.text()}`);
            } catch (e) {
              health.failures.push(`${app.name}: ${(e as Error).message}`);
            }
            health.slowestMs = Math.max(health.slowestMs, Date.now() - t);
          }),
        );
        health.polls++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    // Peak RSS while the documents run.
    const peak = { parser: 0, worker: 0 };
    const sampler = setInterval(() => {
      void Promise.all([rssBytes(stack.parser), rssBytes(stack.workers[0])]).then(([p, w]) => {
        peak.parser = Math.max(peak.parser, p);
        peak.worker = Math.max(peak.worker, w);
      });
    }, 200);

    const poison = hostileCorpus();
    const started = Date.now();
    const uploads = await Promise.all([
      uploadDocument(stack, token, 'normal.md', MIME.md, normalMarkdown('next to poison')),
      ...poison.map((d) => uploadDocument(stack, token, d.filename, d.mime, d.bytes)),
    ]);
    const [normal, ...poisoned] = uploads;
    const names = new Map<string, string>([[normal.jobId, 'normal'], ...poisoned.map((u, i) => [u.jobId, poison[i].name] as [string, string])]);

    // When each job reached its terminal state (polled), for the report.
    const settledAfter = new Map<string, number>();
    let rows: JobRow[] = [];
    const deadline = Date.now() + TERMINAL_WAIT_MS;
    for (;;) {
      rows = await waitForJobs(stack, [...names.keys()], 0);
      for (const r of rows)
        if ((r.state === 'done' || r.state === 'deadletter') && !settledAfter.has(r.job_id)) settledAfter.set(r.job_id, Date.now() - started);
      if (settledAfter.size === names.size || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Settle: a few seconds for the processes to give memory back, then RSS again (best of a few samples).
    const after = { parser: Number.POSITIVE_INFINITY, worker: Number.POSITIVE_INFINITY };
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      after.parser = Math.min(after.parser, await rssBytes(stack.parser));
      after.worker = Math.min(after.worker, await rssBytes(stack.workers[0]));
      if (after.parser <= idle.parser + NEAR_IDLE_MB * MB && after.worker <= idle.worker + NEAR_IDLE_MB * MB && i >= 2) break;
    }
    polling = false;
    clearInterval(sampler);
    await poller;

    const report = rows.map((r) => ({
      doc: names.get(r.job_id),
      stage: r.stage,
      state: r.state,
      code: r.last_error?.code ?? '',
      message: (r.last_error?.message ?? '').slice(0, 160),
      settledMs: settledAfter.get(r.job_id) ?? -1,
    }));
    console.log(
      [
        'hostile corpus outcomes:',
        ...report.map((r) => `  ${r.doc}: ${r.stage}/${r.state} ${r.code} after ${r.settledMs} ms ${r.message}`),
        `RSS MB idle parser=${mb(idle.parser)} worker=${mb(idle.worker)}; peak parser=${mb(peak.parser)} worker=${mb(peak.worker)}; ` +
          `after parser=${mb(after.parser)} worker=${mb(after.worker)}`,
        `health polls=${health.polls} failures=${health.failures.length} slowest=${health.slowestMs} ms`,
      ].join('\n'),
    );

    const byDoc = Object.fromEntries(report.map((r) => [r.doc, r]));
    expect(byDoc['normal']).toMatchObject({ stage: 'complete', state: 'done' });
    for (const d of poison) {
      const r = byDoc[d.name];
      expect({ doc: d.name, terminal: r.state === 'done' || r.state === 'deadletter' }).toEqual({ doc: d.name, terminal: true });
      if (r.state === 'deadletter') expect({ doc: d.name, code: CLEAR_CODES.includes(r.code) ? 'clear' : r.code }).toEqual({ doc: d.name, code: 'clear' });
    }
    // The zip bomb is refused by the parser, saying why.
    expect(byDoc['docx-zip-bomb']).toMatchObject({ state: 'deadletter', code: 'parse_failed' });
    expect(byDoc['docx-zip-bomb'].message).toMatch(/too large when decompressed/);
    expect(health.failures).toEqual([]);
    expect(health.polls).toBeGreaterThan(0);
    expect(mb(after.parser)).toBeLessThanOrEqual(mb(idle.parser) + NEAR_IDLE_MB);
    expect(mb(after.worker)).toBeLessThanOrEqual(mb(idle.worker) + NEAR_IDLE_MB);
  });
});
