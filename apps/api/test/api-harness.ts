import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { signDevToken } from '@app/auth';
import { loadConfig } from '@app/config';
import { migratedTemplate } from '@app/database';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ApiConfig } from '../src/app.config';
import { createApiApp } from '../src/app.factory';

export interface ApiHarness {
  app: INestApplication;
  config: ApiConfig;
  db: TestDatabase;
  storageRoot: string;
  token(sub?: string, claims?: Partial<{ role: string; aud: string; expiresInSec: number }>): string;
  close(): Promise<void>;
}

/** The real api on its own database and storage root, listening on a free port. */
export async function startApi(env: Record<string, string> = {}): Promise<ApiHarness> {
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
  const app = await createApiApp(config);
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

/** A small but well-formed one-page PDF (the api does not parse it; the worker's tests use real parsing). */
export function tinyPdf(text = 'Hello PDF'): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 18 Tf 72 720 Td (${text.replace(/[()\\]/g, '\\$&')}) Tj ET`;
  objects[3] = `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** The path+query of a signed URL, for supertest. */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}
