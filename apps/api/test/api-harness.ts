import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { signDevToken } from '@app/auth';
import { loadConfig } from '@app/config';
import { migratedTemplate } from '@app/database';
import type { UploadSignatureFields } from '@app/storage';
import { buildPdf, createTestDatabase, TestDatabase } from '@app/testing';
import { ApiConfig } from '../src/app.config';
import { createApiApp, CreateApiAppOptions } from '../src/app.factory';

export interface ApiHarness {
  app: INestApplication;
  config: ApiConfig;
  db: TestDatabase;
  storageRoot: string;
  token(sub?: string, claims?: Partial<{ role: string; aud: string; expiresInSec: number }>): string;
  close(): Promise<void>;
}

/** The real api on its own database and storage root, listening on a free port. */
export async function startApi(env: Record<string, string> = {}, options: CreateApiAppOptions = {}): Promise<ApiHarness> {
  const db = await createTestDatabase(migratedTemplate());
  const storageRoot = mkdtempSync(join(tmpdir(), 'ingest-api-storage-'));
  const config = loadConfig(ApiConfig, {
    DATABASE_URL: db.url,
    STORAGE_LOCAL_ROOT: storageRoot,
    DB_MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'error',
    PUBLIC_BASE_URL: 'http://127.0.0.1:1',
    ...env,
  });
  const app = await createApiApp(config, options);
  await app.listen(0, '127.0.0.1');
  return {
    app,
    config,
    db,
    storageRoot,
    token: (sub = randomUUID(), claims = {}) =>
      signDevToken({ secret: config.JWT_SECRET, sub, ...claims }),
    async close() {
      await app.close();
      await db.drop();
      rmSync(storageRoot, { recursive: true, force: true });
    },
  };
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A small well-formed one-page PDF with `text` on it (the api does not parse it; the worker's tests do). */
export function tinyPdf(text = 'Hello PDF'): Buffer {
  return buildPdf([[text]]);
}

/** The path+query of a signed URL, for supertest. */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/**
 * The `sig` of a signed upload URL, computed the way docs/api.md specifies it (HMAC-SHA256 over seven lines), so a
 * test can forge a URL signed with the real secret (an expired one, a hostile key) through the documented wire format
 * alone. Tests first check it reproduces the `sig` of a URL the api handed out (`signedFieldsOf`).
 */
export function signUploadAsDocumented(f: UploadSignatureFields, secret: string): string {
  const canonical = ['INGEST-UPLOAD-V1', 'PUT', f.key, String(f.expires), String(f.size), f.sha256.toLowerCase(), f.contentType.trim().toLowerCase()];
  return createHmac('sha256', secret).update(canonical.join('\n')).digest('hex');
}

/** The fields a signed upload URL covers: its query, plus the Content-Type it was signed for. */
export function signedFieldsOf(url: string | URL, contentType: string): UploadSignatureFields {
  const q = new URL(url).searchParams;
  return { key: q.get('key') ?? '', expires: Number(q.get('expires')), size: Number(q.get('size')), sha256: q.get('sha256') ?? '', contentType };
}
