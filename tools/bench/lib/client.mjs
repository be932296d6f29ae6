// The client side of the benchmark: tokens, generated documents, and the two-step upload.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';

const b64url = (s) => Buffer.from(s).toString('base64url');

/** An HS256 JWT with the Supabase-style claims the api expects. */
export function signToken(secret, sub = randomUUID(), ttlSec = 6 * 3600) {
  const iat = Math.floor(Date.now() / 1000);
  const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(
    JSON.stringify({ sub, role: 'authenticated', aud: 'authenticated', iat, exp: iat + ttlSec }),
  )}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

/**
 * Target sizes of the generated markdown: small is about one page (one chunk); max is close to the default
 * upload limit (25 MiB, headings not counted in the target), to show what the largest accepted document costs.
 */
export const SIZES = { small: 1_500, medium: 24_000, large: 240_000, max: 24 * 1024 * 1024 };

const WORDS = `pipeline document parser chunk vector embedding storage latency throughput worker queue lease
retry backoff webhook signature token model index search query result page section table figure
customer invoice contract policy report summary analysis revenue forecast region quarter market
product service account payment delivery shipment order supplier warehouse inventory audit risk
compliance security access review approval budget project milestone release deadline meeting
agenda minutes decision action owner status update issue incident outage recovery backup archive
network server cluster database replica snapshot migration schema column row transaction commit
lock isolation consistency durability availability partition failover monitor alert metric trace
log dashboard capacity scaling cost estimate benchmark profile memory processor thread process`
  .split(/\s+/)
  .filter(Boolean);

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(rnd) {
  const n = 8 + Math.floor(rnd() * 12);
  const w = Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
  w[0] = w[0][0].toUpperCase() + w[0].slice(1);
  return `${w.join(' ')}.`;
}

/** Unique markdown of about `bytes` bytes: a title with the run and index, headed sections of paragraphs. */
export function makeDocument(runId, index, bytes) {
  const rnd = prng(index * 7919 + 17);
  const parts = [`# Benchmark document ${index} (${runId})`, ''];
  let size = parts[0].length;
  let section = 0;
  while (size < bytes) {
    if (size > 0 && size / 1_600 >= section + 1 && bytes > SIZES.small) {
      section++;
      parts.push(`## Section ${section}: ${WORDS[Math.floor(rnd() * WORDS.length)]}`, '');
    }
    const para = Array.from({ length: 3 + Math.floor(rnd() * 4) }, () => sentence(rnd)).join(' ');
    parts.push(para, '');
    size += para.length + 2;
  }
  return Buffer.from(parts.join('\n'), 'utf8');
}

/**
 * POST /api/v2/upload then PUT the bytes to the signed URL. Returns the job id and the two request times.
 * Throws on any unexpected status.
 */
export async function upload(apiUrl, token, filename, bytes, mime = 'text/markdown') {
  // undici's request, not fetch: the load generator shares the 2 cores with the stack it measures, and fetch
  // costs about twice the client CPU a request (npm run bench:http-client).
  const t0 = performance.now();
  const r = await request(`${apiUrl}/api/v2/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ filename, bytes_len: bytes.length, mime, sha256: sha256hex(bytes) }),
  });
  const body = await r.body.json();
  if (r.statusCode !== 201) throw new Error(`POST upload ${filename}: ${r.statusCode} ${JSON.stringify(body)}`);
  const t1 = performance.now();
  const put = await request(body.signed_url, { method: 'PUT', headers: body.upload_headers, body: bytes });
  const text = await put.body.text();
  if (put.statusCode !== 200) throw new Error(`PUT ${filename}: ${put.statusCode} ${text}`);
  const t2 = performance.now();
  return { jobId: body.job_id, documentId: body.document_id, postMs: t1 - t0, putMs: t2 - t1 };
}
