import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError } from '@app/errors';
import { DocumentEntity, UploadJobEntity } from '@app/database';
import type { ParserClient, ParserSubmitRequest } from '@app/parser-client';
import { LocalStorageDriver } from '@app/storage';
import type { ClaimScratch, JobContext } from '../job-context';
import { testPipelineOptions } from '../pipeline.test-fixtures';
import { SubmitParseHandler } from './submit-parse.handler';
import { ValidateUploadHandler } from './validate-upload.handler';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * job_validated on a real local store: a small upload is hashed from one read and its bytes handed to submission in the
 * claim's scratch; a large one is hashed as a stream; what does not match the declaration fails for good.
 */
describe('ValidateUploadHandler, and SubmitParseHandler with the bytes it hands over', () => {
  let dir: string;
  let storage: LocalStorageDriver;
  let handler: ValidateUploadHandler;

  /** A document whose upload is stored as `stored` and was declared as `declared`. */
  async function upload(stored: Buffer | null, declared = stored ?? Buffer.from('x')): Promise<DocumentEntity> {
    const doc = Object.assign(new DocumentEntity(), {
      documentId: randomUUID(),
      userId: randomUUID(),
      filename: 'a.md',
      mime: 'text/markdown',
      bytesLen: declared.length,
      fileSha256: sha(declared),
    });
    doc.rawPath = `users/${doc.userId}/documents/${doc.documentId}/raw`;
    if (stored) await storage.putObject(doc.rawPath, stored);
    return doc;
  }
  const run = (document: DocumentEntity, scratch: ClaimScratch = {}) => handler.run({ document, scratch } as JobContext);
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'validate-upload-'));
    storage = new LocalStorageDriver({ root: dir, signingSecret: 'validate-upload-secret', publicBaseUrl: 'http://127.0.0.1:1' });
    handler = new ValidateUploadHandler(storage);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a small upload: checked, and its bytes handed over; submission sends them without reading the store again', async () => {
    const bytes = randomBytes(2048);
    const document = await upload(bytes);
    const scratch: ClaimScratch = {};
    expect(await run(document, scratch)).toEqual({ type: 'advance', detail: { bytes: 2048 } });
    expect(scratch.raw?.equals(bytes)).toBe(true);

    // the store no longer has it: submission can only send what it was handed
    await storage.deleteObject(document.rawPath);
    const sent: ParserSubmitRequest[] = [];
    const parser = { submit: async (req: ParserSubmitRequest) => (sent.push(req), { parserJobId: 'p-1' }) } as unknown as ParserClient;
    const submit = new SubmitParseHandler(null as never, storage, parser, testPipelineOptions('w'));
    const job = Object.assign(new UploadJobEntity(), { jobId: randomUUID(), webhookSecret: 'secret' });
    const signal = new AbortController().signal;
    expect(await submit.run({ job, document, scratch, signal } as JobContext)).toMatchObject({ type: 'advance', parserJobId: 'p-1' });
    expect(sent[0].body.equals(bytes)).toBe(true);
    expect(scratch.raw).toBeUndefined(); // let go once sent
  });

  it('a large upload is hashed as a stream and not kept in memory', async () => {
    const bytes = randomBytes(1024 * 1024 + 1);
    const scratch: ClaimScratch = {};
    const whole = jest.spyOn(storage, 'getObjectBuffer');
    const streamed = jest.spyOn(storage, 'hashObject');
    expect(await run(await upload(bytes), scratch)).toEqual({ type: 'advance', detail: { bytes: bytes.length } });
    expect(scratch.raw).toBeUndefined();
    expect(whole).not.toHaveBeenCalled();
    expect(streamed).toHaveBeenCalledTimes(1);
  });

  it('an upload of exactly 1 MiB is read whole, once, and handed over', async () => {
    const bytes = randomBytes(1024 * 1024);
    const scratch: ClaimScratch = {};
    const whole = jest.spyOn(storage, 'getObjectBuffer');
    const streamed = jest.spyOn(storage, 'hashObject');
    expect(await run(await upload(bytes), scratch)).toEqual({ type: 'advance', detail: { bytes: bytes.length } });
    expect(scratch.raw?.equals(bytes)).toBe(true);
    expect(whole).toHaveBeenCalledTimes(1);
    expect(streamed).not.toHaveBeenCalled();
  });

  it('a declared small upload whose stored object grew past 1 MiB falls back to the streamed hash and fails for good', async () => {
    const declared = randomBytes(1000);
    const streamed = jest.spyOn(storage, 'hashObject');
    const scratch: ClaimScratch = {};
    const e = await failure(run(await upload(randomBytes(1024 * 1024 + 5), declared), scratch));
    expect(e).toMatchObject({ code: 'upload_mismatch' });
    expect(streamed).toHaveBeenCalledTimes(1);
    expect(scratch.raw).toBeUndefined();
  });

  it('bytes that differ from the declaration fail for good, small or larger than declared', async () => {
    const declared = randomBytes(100);
    const other = Buffer.from(declared);
    other[0] ^= 1;
    const scratch: ClaimScratch = {};
    for (const stored of [other, randomBytes(1024 * 1024 + 10)]) {
      const e = await failure(run(await upload(stored, declared), scratch));
      expect(e).toBeInstanceOf(PermanentError);
      expect(e).toMatchObject({ code: 'upload_mismatch' });
    }
    expect(scratch.raw).toBeUndefined();
  });

  it('an upload missing from the store fails for good', async () => {
    const e = await failure(run(await upload(null)));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e).toMatchObject({ code: 'upload_missing' });
  });
});
