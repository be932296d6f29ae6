import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { ApiError } from '@app/http';
import type { JobTransitionsService, UploadConfirmationService, UploadsService } from '@app/jobs';
import { storageKey, type ReceiveUploadOutcome, type StorageDriver, type UploadReceiver, type UploadSignatureFields } from '@app/storage';
import type { ApiConfig } from '../app.config';
import { UploadFlowService } from './upload-flow.service';

const USER = '00000000-0000-4000-8000-000000000001';
const DOC = '00000000-0000-4000-8000-000000000002';
const JOB = '00000000-0000-4000-8000-000000000003';
const SHA = 'a'.repeat(64);
const KEY = storageKey.raw(USER, DOC);
const upload: UploadSignatureFields = { key: KEY, expires: 9_999_999_999, size: 10, sha256: SHA, contentType: 'application/pdf' };
const config = { UPLOAD_MAX_BYTES: 1000 } as ApiConfig;

function setup(storage: Partial<StorageDriver>) {
  const found = {
    document: { documentId: DOC, rawPath: KEY, bytesLen: 10, fileSha256: SHA },
    job: { jobId: JOB, documentId: DOC, stage: 'uploaded', state: 'waiting' },
  };
  const uploads = { findSummaryByRawPath: jest.fn().mockResolvedValue(found) };
  const transitions = { apply: jest.fn().mockResolvedValue({ to: { stage: 'job_validated', state: 'queued' } }) };
  const flow = new UploadFlowService(
    { kind: 'local', ...storage } as StorageDriver,
    config,
    uploads as unknown as UploadsService,
    transitions as unknown as JobTransitionsService,
    {} as UploadConfirmationService,
  );
  return { flow, uploads, transitions };
}

function receiverAnswering(outcome: ReceiveUploadOutcome): UploadReceiver & { receive: jest.Mock } {
  return { verify: jest.fn(), receive: jest.fn().mockResolvedValue(outcome) };
}

async function apiErrorOf(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return { status: e.getStatus(), code: e.code };
}

describe('UploadFlowService.receive', () => {
  beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('404 when the driver has no receiver (uploads go to the store), before looking anything up', async () => {
    const { flow, uploads, transitions } = setup({ kind: 'local' });
    expect(await apiErrorOf(flow.receive(upload, Readable.from([]), 'req-1'))).toEqual({ status: 404, code: 'not_found' });
    expect(uploads.findSummaryByRawPath).not.toHaveBeenCalled();
    expect(transitions.apply).not.toHaveBeenCalled();
  });

  it("writes through the driver's receiver with the signed size and sha256 and the upload limit, then confirms", async () => {
    const receiver = receiverAnswering({ status: 'ok', size: 10, sha256: SHA });
    const { flow, transitions } = setup({ kind: 's3', receiver });
    const body = Readable.from([Buffer.alloc(10)]);
    await expect(flow.receive(upload, body, 'req-2')).resolves.toEqual({
      job_id: JOB,
      document_id: DOC,
      received: true,
      stage: 'job_validated',
      state: 'queued',
    });
    expect(receiver.receive).toHaveBeenCalledWith(KEY, body, { expectedSize: 10, expectedSha256: SHA, maxBytes: 1000 });
    expect(transitions.apply).toHaveBeenCalledWith(
      JOB,
      { stage: 'uploaded', state: 'waiting' },
      { type: 'upload_confirmed' },
      { actor: 'api', detail: { size: 10, sha256: SHA, request_id: 'req-2' } },
    );
  });

  it.each<[string, number, string, ReceiveUploadOutcome]>([
    ['too_large', 413, 'payload_too_large', { status: 'too_large', limit: 1000, declared: 2000 }],
    ['size_mismatch', 422, 'size_mismatch', { status: 'size_mismatch', expected: 10, got: 9, aborted: false }],
    ['sha256_mismatch', 422, 'sha256_mismatch', { status: 'sha256_mismatch', expected: SHA, got: 'b'.repeat(64) }],
  ])("the receiver's %s is %i %s and nothing is confirmed", async (_what, status, code, outcome) => {
    const { flow, transitions } = setup({ receiver: receiverAnswering(outcome) });
    expect(await apiErrorOf(flow.receive(upload, Readable.from([]), 'req-3'))).toEqual({ status, code });
    expect(transitions.apply).not.toHaveBeenCalled();
  });
});
