import { createHash, createHmac } from 'node:crypto';
import { UPLOAD_RECEIVER_PATH, type UploadSignatureFields } from '../upload-receiver';
import { canonicalUploadString, signUpload, uploadQueryString, verifyUploadSignature } from './upload-signature';
import { LocalStorageDriver } from './local-storage.driver';

const SECRET = 'test-signing-secret-0123456789';
const NOW = new Date('2030-01-01T00:00:00Z');
const sha = createHash('sha256').update('hello').digest('hex');
const fields: UploadSignatureFields = {
  key: 'users/u1/documents/d1/raw',
  expires: Math.floor(NOW.getTime() / 1000) + 600,
  size: 5,
  sha256: sha,
  contentType: 'text/plain',
};

/** The params a route would hand over: the URL's query plus the request's Content-Type. */
function paramsOf(url: string, contentType = 'text/plain'): Record<string, unknown> {
  const u = new URL(url);
  return { ...Object.fromEntries(u.searchParams), contentType };
}

function signedParams(f: UploadSignatureFields = fields): Record<string, unknown> {
  return paramsOf(`http://x${UPLOAD_RECEIVER_PATH}?${uploadQueryString(f, SECRET)}`, f.contentType);
}

describe('upload URL signing', () => {
  it('documents its canonical form: version, method, key, expires, size, sha256, content type', () => {
    expect(canonicalUploadString({ ...fields, sha256: sha.toUpperCase(), contentType: ' Text/Plain ' })).toBe(
      ['INGEST-UPLOAD-V1', 'PUT', fields.key, String(fields.expires), '5', sha, 'text/plain'].join('\n'),
    );
    expect(signUpload(fields, SECRET)).toBe(createHmac('sha256', SECRET).update(canonicalUploadString(fields)).digest('hex'));
  });

  it('a URL made by the local driver verifies, with the declared fields', async () => {
    const driver = new LocalStorageDriver({ root: '/tmp/unused-root', publicBaseUrl: 'http://api.test:8000/', signingSecret: SECRET, now: () => NOW });
    const target = await driver.createUploadUrl(fields.key, { bytesLen: 5, sha256: sha, contentType: 'text/plain', expiresInSec: 600 });
    expect(target.method).toBe('PUT');
    expect(target.headers).toEqual({ 'Content-Type': 'text/plain' });
    expect(target.expiresAt.toISOString()).toBe('2030-01-01T00:10:00.000Z');
    const url = new URL(target.url);
    expect(url.origin + url.pathname).toBe(`http://api.test:8000${UPLOAD_RECEIVER_PATH}`);
    expect([...url.searchParams.keys()]).toEqual(['key', 'expires', 'size', 'sha256', 'sig']);
    expect(url.searchParams.get('key')).toBe(fields.key);
    expect(target.url).toContain('key=users%2Fu1%2Fdocuments%2Fd1%2Fraw');
    expect(url.searchParams.get('expires')).toBe(String(fields.expires));
    expect(url.searchParams.get('size')).toBe('5');
    expect(url.searchParams.get('sha256')).toBe(sha);
    expect(url.searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);

    const res = verifyUploadSignature(paramsOf(target.url), SECRET, new Date(NOW.getTime() + 1000));
    expect(res).toEqual({ status: 'ok', upload: fields, expiresAt: target.expiresAt });
  });

  it('is valid until the expiry second and expired from it on', () => {
    const p = signedParams();
    expect(verifyUploadSignature(p, SECRET, new Date(fields.expires * 1000 - 1)).status).toBe('ok');
    expect(verifyUploadSignature(p, SECRET, new Date(fields.expires * 1000))).toEqual({
      status: 'expired',
      upload: fields,
      expiresAt: new Date(fields.expires * 1000),
    });
    expect(verifyUploadSignature(p, SECRET, new Date(fields.expires * 1000 + 86_400_000)).status).toBe('expired');
  });

  it.each<[string, Record<string, unknown>]>([
    ['key', { key: 'users/u1/documents/d2/raw' }],
    ['expires (extended)', { expires: String(fields.expires + 3600) }],
    ['size', { size: '6' }],
    ['sha256', { sha256: createHash('sha256').update('hellO').digest('hex') }],
    ['content type', { contentType: 'application/pdf' }],
    ['sig (one hex digit)', { sig: 'flip' }],
    ['sig (all zero)', { sig: '0'.repeat(64) }],
  ])('tampered %s -> bad_signature', (_what, change) => {
    const p = signedParams();
    const sig = String(p.sig);
    const tampered = { ...p, ...change };
    if (change.sig === 'flip') tampered.sig = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
    expect(verifyUploadSignature(tampered, SECRET, NOW)).toEqual({ status: 'bad_signature' });
  });

  it('a tampered expiry in the past is bad_signature, not expired', () => {
    const p = { ...signedParams(), expires: String(fields.expires - 3600) };
    expect(verifyUploadSignature(p, SECRET, new Date(fields.expires * 1000))).toEqual({ status: 'bad_signature' });
  });

  it('another secret -> bad_signature', () => {
    expect(verifyUploadSignature(signedParams(), 'another-secret-0123456789', NOW)).toEqual({ status: 'bad_signature' });
  });

  it('sha256 and sig are compared case-insensitively as hex', () => {
    const p = signedParams();
    const upper = { ...p, sha256: String(p.sha256).toUpperCase(), sig: String(p.sig).toUpperCase() };
    expect(verifyUploadSignature(upper, SECRET, NOW).status).toBe('ok');
  });

  it.each<[string, Record<string, unknown>]>([
    ['missing key', { key: undefined }],
    ['traversal key', { key: '../etc/passwd' }],
    ['encoded traversal key', { key: '..%2fetc' }],
    ['absolute key', { key: '/etc/passwd' }],
    ['duplicate key', { key: ['a', 'b'] }],
    ['missing expires', { expires: undefined }],
    ['negative expires', { expires: '-1' }],
    ['fractional expires', { expires: '1.5' }],
    ['hex expires', { expires: '0x10' }],
    ['huge expires', { expires: '99999999999999999999' }],
    ['zero size', { size: '0' }],
    ['padded size', { size: '05' }],
    ['text size', { size: 'five' }],
    ['short sha256', { sha256: 'abc' }],
    ['non-hex sha256', { sha256: 'z'.repeat(64) }],
    ['missing sig', { sig: undefined }],
    ['short sig', { sig: 'ab' }],
    ['duplicate sig', { sig: ['0'.repeat(64), '1'.repeat(64)] }],
    ['missing content type', { contentType: undefined }],
    ['content type with newline', { contentType: 'text/plain\nx' }],
  ])('%s -> malformed', (_what, change) => {
    const res = verifyUploadSignature({ ...signedParams(), ...change }, SECRET, NOW);
    expect(res.status).toBe('malformed');
  });
});
