import { existsSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import request from 'supertest';
import type { App } from 'supertest/types';
import { signDevToken } from '@app/auth';
import { ApiHarness, sha256, startApi } from './api-harness';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/** An upload request body for `n` distinct bytes (each n is a new document). */
function uploadBody(n: number | string) {
  const bytes = Buffer.from(`document ${n} ${randomUUID()}`);
  return { filename: `d${n}.txt`, bytes_len: bytes.length, mime: 'text/plain', sha256: sha256(bytes) };
}

function expectErrorShape(body: unknown, status: number, code: string): void {
  expect(body).toEqual({ error: { status, code, message: expect.any(String), details: expect.anything(), request_id: expect.any(String) } });
}

describe('api hardening: security headers (helmet)', () => {
  let h: ApiHarness;
  let http: App;
  beforeAll(async () => {
    h = await startApi();
    http = h.app.getHttpServer() as App;
  });
  afterAll(async () => {
    await h?.close();
  });

  const helmetHeaders = (r: request.Response) => {
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(r.headers['content-security-policy']).toContain("object-src 'none'");
    expect(r.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(r.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(r.headers['x-dns-prefetch-control']).toBe('off');
    expect(r.headers['x-powered-by']).toBeUndefined();
  };

  it('are on successful answers, errors and unknown routes alike', async () => {
    helmetHeaders(await request(http).get('/health/live').expect(200));
    helmetHeaders(await request(http).post('/api/v2/upload').send({}).expect(401));
    helmetHeaders(await request(http).get('/api/v2/jobs').set('Authorization', `Bearer ${h.token()}`).expect(200));
    helmetHeaders(await request(http).get('/no/such/route').expect(404));
    helmetHeaders(await request(http).put('/api/v2/storage/upload?key=x').send('x').expect(403));
  });

  it('Swagger UI at /docs only loads same-origin scripts, which the CSP allows', async () => {
    const page = await request(http).get('/docs').redirects(1).expect(200);
    helmetHeaders(page);
    expect(page.headers['content-type']).toContain('text/html');
    const html = page.text;
    // no inline script (script-src 'self' would block it); every script is a file that is served
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
    const scripts = [...html.matchAll(/<script[^>]*\bsrc=["']([^"']+)["']/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const src of scripts) {
      expect(src).not.toMatch(/^(https?:)?\/\//); // same origin
      const js = await request(http).get(new URL(src, 'http://x/docs').pathname).expect(200);
      expect(js.headers['content-type']).toMatch(/javascript/);
    }
    const doc = await request(http).get('/docs/openapi.json').expect(200);
    expect(doc.body.info.title).toBe('Ingest API');
  });

  (CHROMIUM ? it : it.skip)('Swagger UI renders in a real browser with no CSP violation', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      const addr = (h.app.getHttpServer() as { address(): { port: number } }).address();
      await page.goto(`http://127.0.0.1:${addr.port}/docs`, { timeout: 15_000 });
      await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
      expect(await page.textContent('.swagger-ui .info .title')).toContain('Ingest API');
      await page.waitForSelector('.opblock-summary-path', { timeout: 15_000 });
      const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent ?? ''));
      expect(paths.join(' ')).toContain('/api/v2/upload');
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 45_000);
});

describe('api hardening: upload rate limit per user (default 120 a minute)', () => {
  let h: ApiHarness;
  let http: App;
  beforeAll(async () => {
    h = await startApi(); // UPLOAD_RATE_LIMIT and UPLOAD_RATE_WINDOW_SEC at their defaults
    http = h.app.getHttpServer() as App;
  });
  afterAll(async () => {
    await h?.close();
  });

  const upload = (token: string, body: object) =>
    request(http).post('/api/v2/upload').set('Authorization', `Bearer ${token}`).send(body);

  it('the defaults are 120 uploads per 60 s', () => {
    expect(h.config.UPLOAD_RATE_LIMIT).toBe(120);
    expect(h.config.UPLOAD_RATE_WINDOW_SEC).toBe(60);
  });

  it('the 121st upload in a window is 429 in the error shape with retry-after; another user is unaffected', async () => {
    const a = h.token(randomUUID());
    for (let i = 0; i < 120; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => upload(a, uploadBody(i + k))));
      expect(batch.map((r) => r.status)).toEqual(Array(20).fill(201));
    }
    const last = await upload(a, uploadBody(121)).expect(429);
    expectErrorShape(last.body, 429, 'rate_limited');
    expect(last.body.error.details).toMatchObject({ limit: 120, window_sec: 60 });
    const retryAfter = Number(last.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(last.body.error.details.retry_after_sec).toBe(retryAfter);
    expect(last.headers['x-request-id']).toBe(last.body.error.request_id);

    // a repeat of an earlier upload counts too; other routes are not limited
    await upload(a, uploadBody(0)).expect(429);
    await request(http).get('/api/v2/jobs').set('Authorization', `Bearer ${a}`).expect(200);

    // another user has their own budget
    const b = h.token(randomUUID());
    const ok = await upload(b, uploadBody('b1')).expect(201);
    expect(ok.headers['x-ratelimit-limit']).toBe('120');
    expect(ok.headers['x-ratelimit-remaining']).toBe('119');
  });

  it("forged tokens claiming a user's sub are refused (401) and never spend that user's budget", async () => {
    const victim = randomUUID();
    const token = h.token(victim);
    for (let i = 0; i < 119; i += 17) {
      const n = Math.min(17, 119 - i);
      await Promise.all(Array.from({ length: n }, (_, k) => upload(token, uploadBody(`v${i + k}`)).expect(201)));
    }
    const forged = signDevToken({ secret: 'not-the-api-secret-0123456789abcdefgh', sub: victim });
    for (let i = 0; i < 30; i++) await upload(forged, uploadBody(`f${i}`)).expect(401);
    await upload(h.token(victim, { expiresInSec: -10 }), uploadBody('expired')).expect(401);
    // the victim's 120th upload still goes through; the 121st does not
    await upload(token, uploadBody('v119')).expect(201);
    await upload(token, uploadBody('v120')).expect(429);
  });
});

describe('api hardening: a small configured limit and window', () => {
  let h: ApiHarness;
  let http: App;
  beforeAll(async () => {
    h = await startApi({ UPLOAD_RATE_LIMIT: '3', UPLOAD_RATE_WINDOW_SEC: '1' });
    http = h.app.getHttpServer() as App;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses past the limit and lets the user in again once the window has passed', async () => {
    const t = h.token(randomUUID());
    const post = (n: number) => request(http).post('/api/v2/upload').set('Authorization', `Bearer ${t}`).send(uploadBody(n));
    for (let i = 0; i < 3; i++) await post(i).expect(201);
    const refused = await post(3).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1100 * Number(refused.headers['retry-after'])));
    await post(4).expect(201);
  });
});

describe('api hardening: the upload throttle counts every request once, whatever its answer', () => {
  let h: ApiHarness;
  let http: App;
  let ds: DataSource;
  beforeAll(async () => {
    h = await startApi({ UPLOAD_RATE_LIMIT: '3', UPLOAD_RATE_WINDOW_SEC: '60', UPLOAD_MAX_BYTES: '1000' });
    http = h.app.getHttpServer() as App;
    ds = h.app.get(DataSource);
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (token: string, body: object) => request(http).post('/api/v2/upload').set('Authorization', `Bearer ${token}`).send(body);
  const documentsOf = async (sub: string) =>
    ((await ds.query(`SELECT count(*)::int AS n FROM upload_pipeline.documents WHERE user_id = $1`, [sub])) as { n: number }[])[0].n;

  it('refused bodies and checks count; over the limit they answer 429 (the limit comes first), and nothing is created', async () => {
    const sub = randomUUID();
    const t = h.token(sub);
    const invalid = await post(t, { ...uploadBody(1), sha256: 'not-a-sha' }).expect(400); // the validation pipe
    expect(invalid.headers['x-ratelimit-remaining']).toBe('2');
    const tooLarge = await post(t, { ...uploadBody(2), bytes_len: 5000 }).expect(400); // UPLOAD_MAX_BYTES, checked by the handler
    expect(tooLarge.headers['x-ratelimit-remaining']).toBe('1');
    const third = await post(t, uploadBody(3)).expect(201);
    expect(third.headers['x-ratelimit-remaining']).toBe('0');
    for (const body of [{ ...uploadBody(4), sha256: 'not-a-sha' }, { ...uploadBody(5), bytes_len: 5000 }, uploadBody(6), {}]) {
      const refused = await post(t, body).expect(429);
      expectErrorShape(refused.body, 429, 'rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(refused.headers['x-ratelimit-remaining']).toBeUndefined();
    }
    expect(await documentsOf(sub)).toBe(1);
  });

  it("a repeat of an earlier upload counts, and the counter's key is @nestjs/throttler's (processes of both versions share it)", async () => {
    const sub = randomUUID();
    const t = h.token(sub);
    const body = uploadBody('same');
    await post(t, body).expect(201);
    const again = await post(t, body).expect(200);
    expect(again.body.deduplicated).toBe(true);
    expect(again.headers['x-ratelimit-remaining']).toBe('1');
    const key = `default:${createHash('sha256').update(`UploadsController-create-default-user:${sub}`).digest('hex')}`;
    const rows = (await ds.query(`SELECT hits FROM upload_pipeline.rate_limits WHERE key = $1`, [key])) as { hits: number }[];
    expect(rows).toEqual([{ hits: 2 }]);
  });
});

describe('api hardening: the upload throttle is shared by every api process (counters in PostgreSQL)', () => {
  let one: ApiHarness;
  let two: ApiHarness;
  beforeAll(async () => {
    one = await startApi({ UPLOAD_RATE_LIMIT: '3', UPLOAD_RATE_WINDOW_SEC: '60' });
    // a second api process on the same database, as behind one port
    two = await startApi({ UPLOAD_RATE_LIMIT: '3', UPLOAD_RATE_WINDOW_SEC: '60', DATABASE_URL: one.config.DATABASE_URL });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it("a user's uploads count once across both processes; another user has their own budget", async () => {
    const sub = randomUUID();
    const post = (h: ApiHarness, n: number | string, who = sub) =>
      request(h.app.getHttpServer() as App).post('/api/v2/upload').set('Authorization', `Bearer ${h.token(who)}`).send(uploadBody(n));
    await post(one, 's1').expect(201);
    await post(two, 's2').expect(201);
    const third = await post(one, 's3').expect(201);
    expect(third.headers['x-ratelimit-remaining']).toBe('0');
    // the fourth is refused by whichever process takes it
    const refused = await post(two, 's4').expect(429);
    expectErrorShape(refused.body, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await post(one, 's5').expect(429);
    const other = randomUUID();
    await post(two, 'o1', other).expect(201);
    await post(one, 'o2', other).expect(201);
  });
});
