import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import { IS_PUBLIC_KEY } from '@app/auth';
import { applyHttpDefaults } from '@app/http';
import {
  createStorageDriver,
  STORAGE,
  UPLOAD_RECEIVER_PATH,
  type S3StorageDriver,
  type StorageDriver,
  type UploadReceiver,
} from '@app/storage';
import { UploadFlowService } from './upload-flow.service';
import { UploadReceiverController } from './upload-receiver.controller';

const BODY = Buffer.from('%PDF-1.4 tiny');
const SHA = createHash('sha256').update(BODY).digest('hex');
const PDF = 'application/pdf';
const KEY = 'users/00000000-0000-4000-8000-000000000001/documents/00000000-0000-4000-8000-000000000002/raw';
const QUERY = `key=${encodeURIComponent(KEY)}&expires=9999999999&size=${BODY.length}&sha256=${SHA}&sig=${'0'.repeat(64)}`;

/** The controller alone, on the api's HTTP defaults (error shape, no body parser for uploads), over `storage`. */
async function appOver(storage: StorageDriver, flow: Pick<UploadFlowService, 'receive'>): Promise<{ app: INestApplication; http: App }> {
  const mod = await Test.createTestingModule({
    controllers: [UploadReceiverController],
    providers: [
      { provide: UploadFlowService, useValue: flow },
      { provide: STORAGE, useValue: storage },
    ],
  }).compile();
  const app = mod.createNestApplication({ logger: false, bodyParser: false });
  applyHttpDefaults(app, { bodyLimit: '1mb', raw: false });
  await app.init();
  return { app, http: app.getHttpServer() as App };
}

const put = (http: App, pathAndQuery: string) => request(http).put(pathAndQuery).set('Content-Type', PDF).send(BODY);

describe('UploadReceiverController', () => {
  let app: INestApplication | undefined;
  let flow: { receive: jest.Mock };
  let root: string;
  beforeEach(() => {
    flow = { receive: jest.fn().mockResolvedValue({ received: true }) };
    root = mkdtempSync(join(tmpdir(), 'ingest-receiver-ctl-'));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  it('is public and mounted at the receiver path the drivers sign for', () => {
    expect(Reflect.getMetadata(IS_PUBLIC_KEY, UploadReceiverController.prototype.receive)).toBe(true);
    expect(Reflect.getMetadata('path', UploadReceiverController)).toBe(UPLOAD_RECEIVER_PATH.slice(1));
  });

  describe('a driver without the receiver capability', () => {
    it('S3 (clients PUT to the bucket): 404 not_found, nothing received', async () => {
      const s3 = createStorageDriver({ driver: 's3', bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 's' });
      expect(s3.receiver).toBeUndefined();
      try {
        let http: App;
        ({ app, http } = await appOver(s3, flow));
        const r = await put(http, `${UPLOAD_RECEIVER_PATH}?${QUERY}`).expect(404);
        expect(r.body.error).toMatchObject({ status: 404, code: 'not_found' });
        expect(flow.receive).not.toHaveBeenCalled();
      } finally {
        (s3 as S3StorageDriver).client.destroy();
      }
    });

    it('whatever its kind says: the capability decides, not the type', async () => {
      const noReceiver = { kind: 'local' } as unknown as StorageDriver;
      let http: App;
      ({ app, http } = await appOver(noReceiver, flow));
      const r = await put(http, `${UPLOAD_RECEIVER_PATH}?${QUERY}`).expect(404);
      expect(r.body.error).toMatchObject({ status: 404, code: 'not_found' });
      expect(flow.receive).not.toHaveBeenCalled();
    });
  });

  describe('a driver with it', () => {
    it('local: a URL it signed goes on to the upload flow with the signed fields; a tampered one is 403', async () => {
      const local = createStorageDriver({ driver: 'local', root, publicBaseUrl: 'http://127.0.0.1:1', signingSecret: 'receiver-controller-secret-0123' });
      expect(local.receiver).toBeDefined();
      let http: App;
      ({ app, http } = await appOver(local, flow));
      const target = await local.createUploadUrl(KEY, { bytesLen: BODY.length, sha256: SHA, contentType: PDF, expiresInSec: 60 });
      const url = new URL(target.url);

      const ok = await put(http, `${url.pathname}${url.search}`).expect(200);
      expect(ok.body).toEqual({ received: true });
      expect(flow.receive).toHaveBeenCalledTimes(1);
      expect(flow.receive.mock.calls[0][0]).toEqual({ key: KEY, expires: Number(url.searchParams.get('expires')), size: BODY.length, sha256: SHA, contentType: PDF });

      url.searchParams.set('size', String(BODY.length + 1));
      const bad = await put(http, `${url.pathname}${url.search}`).expect(403);
      expect(bad.body.error).toMatchObject({ status: 403, code: 'invalid_signature' });
      expect(flow.receive).toHaveBeenCalledTimes(1);
    });

    it.each<[string, number, string, ReturnType<UploadReceiver['verify']>]>([
      ['malformed', 403, 'invalid_signature', { status: 'malformed', reason: 'key' }],
      ['bad_signature', 403, 'invalid_signature', { status: 'bad_signature' }],
      [
        'expired',
        403,
        'upload_url_expired',
        { status: 'expired', upload: { key: KEY, expires: 1, size: 1, sha256: SHA, contentType: PDF }, expiresAt: new Date(1000) },
      ],
    ])('its verdict %s is %i %s (whatever the kind)', async (_what, status, code, verdict) => {
      const receiver: UploadReceiver = { verify: jest.fn().mockReturnValue(verdict), receive: jest.fn() };
      const storage = { kind: 's3', receiver } as unknown as StorageDriver;
      let http: App;
      ({ app, http } = await appOver(storage, flow));
      const r = await put(http, `${UPLOAD_RECEIVER_PATH}?${QUERY}`).expect(status);
      expect(r.body.error).toMatchObject({ status, code });
      expect(receiver.verify).toHaveBeenCalledWith(expect.objectContaining({ key: KEY, sig: '0'.repeat(64), contentType: PDF }));
      expect(flow.receive).not.toHaveBeenCalled();
    });
  });
});
