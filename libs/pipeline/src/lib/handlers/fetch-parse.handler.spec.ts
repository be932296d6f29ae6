import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError, TransientError } from '@app/errors';
import type { DocumentEntity, UploadJobEntity } from '@app/database';
import type { ParserClient, ParserMarkdownResult, ParserStatusResult } from '@app/parser-client';
import { LocalStorageDriver, storageKey } from '@app/storage';
import type { ClaimScratch, JobContext } from '../job-context';
import { testPipelineOptions } from '../pipeline.test-fixtures';
import { FetchParseHandler } from './fetch-parse.handler';

type Answer<T> = T | Error;

/** A parser that gives the scripted answers in order and records which calls were made. */
class ScriptedParser implements ParserClient {
  readonly calls: string[] = [];
  constructor(private readonly script: { status?: Answer<ParserStatusResult>[]; markdown?: Answer<ParserMarkdownResult>[] }) {}

  async submit(): Promise<{ parserJobId: string }> {
    throw new Error('not called at parsing');
  }
  async status(id: string): Promise<ParserStatusResult> {
    this.calls.push(`status ${id}`);
    return this.next(this.script.status);
  }
  async markdown(id: string): Promise<ParserMarkdownResult> {
    this.calls.push(`markdown ${id}`);
    return this.next(this.script.markdown);
  }
  async ping(): Promise<void> {
    this.calls.push('ping');
  }
  private next<T>(answers: Answer<T>[] | undefined): T {
    const a = answers?.shift();
    if (a === undefined) throw new Error('no answer scripted');
    if (a instanceof Error) throw a;
    return a;
  }
}

// as the driver classifies LlamaParse's 404 (classifyHttpStatus: the status, and the code the body gave or http_404)
const notCompleted = () =>
  new PermanentError('parser: markdown result: Job not completed', { code: 'http_404', service: 'parser', status: 404 });
const done: ParserMarkdownResult = { markdown: '# Title\n\nBody text.', pages: 1 };

describe('FetchParseHandler', () => {
  let root: string;
  let storage: LocalStorageDriver;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fetch-parse-'));
    storage = new LocalStorageDriver({ root, publicBaseUrl: 'http://localhost:1', signingSecret: 'a-signing-secret-of-some-length' });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const run = (parser: ScriptedParser, scratch: ClaimScratch) => {
    const handler = new FetchParseHandler(storage, parser, testPipelineOptions('w'));
    const job = { jobId: randomUUID(), parserJobId: 'parse-1' } as UploadJobEntity;
    const document = { documentId: randomUUID(), userId: randomUUID() } as DocumentEntity;
    const ctx: JobContext = { job, document, workerId: 'w', signal: new AbortController().signal, scratch };
    return { result: handler.run(ctx), document };
  };

  it("takes the webhook's SUCCESS as the status: fetches the markdown without asking, and stores it", async () => {
    const parser = new ScriptedParser({ markdown: [done] });
    const { result, document } = run(parser, { parserReportedStatus: 'SUCCESS' });
    const out = await result;
    expect(out).toMatchObject({ type: 'advance', progress: { pages: 1 }, document: { parsedPath: storageKey.parsed(document.userId, document.documentId), pageCount: 1 } });
    expect(parser.calls).toEqual(['markdown parse-1']);
    expect((await storage.getObjectBuffer(storageKey.parsed(document.userId, document.documentId))).toString('utf8')).toBe(done.markdown);
  });

  it('asks for the status when the result is not there yet despite the webhook (404), and waits when it is pending', async () => {
    const parser = new ScriptedParser({ markdown: [notCompleted()], status: [{ status: 'PENDING' }] });
    await expect(run(parser, { parserReportedStatus: 'SUCCESS' }).result).resolves.toMatchObject({ type: 'parser_pending' });
    expect(parser.calls).toEqual(['markdown parse-1', 'status parse-1']);
  });

  it('recognises the 404 by its status, also when the body gave the error a code of its own', async () => {
    const notReady = new PermanentError('parser: markdown result: Job not completed', { code: 'job_not_ready', service: 'parser', status: 404 });
    const parser = new ScriptedParser({ markdown: [notReady], status: [{ status: 'PENDING' }] });
    await expect(run(parser, { parserReportedStatus: 'SUCCESS' }).result).resolves.toMatchObject({ type: 'parser_pending' });
    expect(parser.calls).toEqual(['markdown parse-1', 'status parse-1']);
  });

  it('fetches again after the 404 when the status says it succeeded', async () => {
    const parser = new ScriptedParser({ markdown: [notCompleted(), done], status: [{ status: 'SUCCESS' }] });
    await expect(run(parser, { parserReportedStatus: 'success' }).result).resolves.toMatchObject({ type: 'advance' });
    expect(parser.calls).toEqual(['markdown parse-1', 'status parse-1', 'markdown parse-1']);
  });

  it('leaves any other failure of the markdown call to the policy (no status call)', async () => {
    const parser = new ScriptedParser({ markdown: [new TransientError('parser: HTTP 503', { code: 'http_503', service: 'parser' })] });
    await expect(run(parser, { parserReportedStatus: 'SUCCESS' }).result).rejects.toMatchObject({ code: 'http_503' });
    expect(parser.calls).toEqual(['markdown parse-1']);
  });

  it('asks for the status first without a webhook, or when the webhook reported a failure', async () => {
    const quiet = new ScriptedParser({ status: [{ status: 'SUCCESS' }], markdown: [done] });
    await expect(run(quiet, {}).result).resolves.toMatchObject({ type: 'advance' });
    expect(quiet.calls).toEqual(['status parse-1', 'markdown parse-1']);

    const failed = new ScriptedParser({ status: [{ status: 'ERROR', errorMessage: 'unsupported file' }] });
    await expect(run(failed, { parserReportedStatus: 'ERROR' }).result).rejects.toMatchObject({
      kind: 'permanent',
      code: 'parse_failed',
      message: 'parser error: unsupported file',
    });
    expect(failed.calls).toEqual(['status parse-1']);
  });
});
