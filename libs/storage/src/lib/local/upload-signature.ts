import { createHmac, timingSafeEqual } from 'node:crypto';
import { isValidStorageKey } from '../storage-key';
import { isValidContentType, SHA256_HEX } from '../stream.util';
import type { UploadSignatureCheck, UploadSignatureFields, UploadSignatureParams } from '../upload-receiver';

// The local driver's upload URL signing, inside the lib only: the api reaches it through the
// driver's `receiver` capability (`UploadReceiver.verify`).

/** Version tag at the start of the canonical string; bump it to invalidate every outstanding URL format. */
export const UPLOAD_SIGNATURE_VERSION = 'INGEST-UPLOAD-V1';

/**
 * The canonical string that is HMAC-SHA256-signed, seven lines joined by `\n`, no trailing newline:
 *
 *     INGEST-UPLOAD-V1
 *     PUT
 *     <key, as stored, not URL-encoded>
 *     <expires, decimal unix seconds>
 *     <size, decimal bytes>
 *     <sha256, lowercase hex>
 *     <content type, trimmed and lowercased>
 *
 * None of the fields can contain `\n` (keys, numbers and hex by their grammar, the content type is
 * checked to be printable ASCII), so the encoding is unambiguous.
 */
export function canonicalUploadString(f: UploadSignatureFields): string {
  return [
    UPLOAD_SIGNATURE_VERSION,
    'PUT',
    f.key,
    String(f.expires),
    String(f.size),
    f.sha256.toLowerCase(),
    f.contentType.trim().toLowerCase(),
  ].join('\n');
}

/** Lowercase hex HMAC-SHA256(secret, canonicalUploadString(fields)). */
export function signUpload(fields: UploadSignatureFields, secret: string): string {
  return createHmac('sha256', secret).update(canonicalUploadString(fields)).digest('hex');
}

/** `key=..&expires=..&size=..&sha256=..&sig=..` (URL-encoded), the query of a local upload URL. */
export function uploadQueryString(fields: UploadSignatureFields, secret: string): string {
  return new URLSearchParams({
    key: fields.key,
    expires: String(fields.expires),
    size: String(fields.size),
    sha256: fields.sha256.toLowerCase(),
    sig: signUpload(fields, secret),
  }).toString();
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

function parseCount(v: unknown): number | null {
  if (typeof v !== 'string' || !DECIMAL.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Checks an upload URL. Order: shape (`malformed`), then the HMAC compared in constant time
 * (`bad_signature`), then expiry (`expired`, only ever reported for authentic URLs; a URL is
 * expired from the second `expires` on). Duplicate parameters (arrays) are malformed.
 */
export function verifyUploadSignature(
  params: UploadSignatureParams,
  secret: string,
  now: Date = new Date(),
): UploadSignatureCheck {
  const { key, expires, size, sha256, sig, contentType } = params;
  if (!isValidStorageKey(key)) return { status: 'malformed', reason: 'key' };
  const exp = parseCount(expires);
  if (exp === null) return { status: 'malformed', reason: 'expires' };
  const len = parseCount(size);
  if (len === null || len < 1) return { status: 'malformed', reason: 'size' };
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) return { status: 'malformed', reason: 'sha256' };
  if (typeof sig !== 'string' || !SHA256_HEX.test(sig)) return { status: 'malformed', reason: 'sig' };
  if (!isValidContentType(contentType)) return { status: 'malformed', reason: 'contentType' };

  const upload: UploadSignatureFields = { key, expires: exp, size: len, sha256: sha256.toLowerCase(), contentType };
  const expected = Buffer.from(signUpload(upload, secret), 'hex');
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { status: 'bad_signature' };

  const expiresAt = new Date(exp * 1000);
  if (now.getTime() >= expiresAt.getTime()) return { status: 'expired', upload, expiresAt };
  return { status: 'ok', upload, expiresAt };
}
