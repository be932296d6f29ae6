import { Script } from 'node:vm';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { IS_PUBLIC_KEY } from '@app/auth';
import { WebController } from './web.controller';
import { INDEX_HTML } from './web.page';
import { APP_JS } from './web.script';
import { APP_CSS } from './web.styles';

describe('web page assets', () => {
  it('the page has no inline script, style or event handler (CSP script-src/style-src self)', () => {
    const scripts = [...INDEX_HTML.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0][1]).toContain('src="/app.js"');
    expect(scripts[0][2].trim()).toBe('');
    expect(INDEX_HTML).toContain('<link rel="stylesheet" href="/app.css">');
    expect(INDEX_HTML).not.toMatch(/<style\b/i);
    expect(INDEX_HTML).not.toMatch(/\sstyle\s*=/i);
    expect(INDEX_HTML).not.toMatch(/\son[a-z]+\s*=/i);
    expect(INDEX_HTML).not.toMatch(/javascript:/i);
  });

  it('the script parses, and every element id it looks up is on the page', () => {
    expect(() => new Script(APP_JS)).not.toThrow();
    const ids = new Set([...INDEX_HTML.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const used = [...APP_JS.matchAll(/\$\('([^']+)'\)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(10);
    for (const id of used) expect(ids).toContain(id);
    // values from the API are written as text, never parsed as HTML
    expect(APP_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('a search hit shows its pages: p. N, or pp. N–M for a range, nothing when unknown', () => {
    const src = /function pagesOf\(r\) \{[\s\S]*?\n\}\n/.exec(APP_JS)?.[0] ?? '';
    const pagesOf = new Function(`${src}; return pagesOf;`)() as (r: { page_start?: number | null; page_end?: number | null }) => string;
    expect(pagesOf({ page_start: 2, page_end: 2 })).toBe('p. 2');
    expect(pagesOf({ page_start: 2, page_end: 4 })).toBe('pp. 2\u20134');
    expect(pagesOf({ page_start: null, page_end: null })).toBe('');
    expect(pagesOf({})).toBe('');
    expect(APP_JS).toContain("'data-testid': 'result-pages'");
  });

  it('every label points at a control that exists', () => {
    const ids = new Set([...INDEX_HTML.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const targets = [...INDEX_HTML.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1]);
    expect(targets.length).toBeGreaterThanOrEqual(4);
    for (const t of targets) expect(ids).toContain(t);
  });
});

describe('WebController', () => {
  let app: INestApplication;
  beforeAll(async () => {
    const mod = await Test.createTestingModule({ controllers: [WebController] }).compile();
    app = mod.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is public (no Bearer token needed for the page itself)', () => {
    expect(Reflect.getMetadata(IS_PUBLIC_KEY, WebController)).toBe(true);
  });

  it.each([
    ['/', 'text/html', INDEX_HTML],
    ['/app', 'text/html', INDEX_HTML],
    ['/app.js', 'text/javascript', APP_JS],
    ['/app.css', 'text/css', APP_CSS],
  ])('GET %s serves %s, not cached without revalidation', async (path, type, body) => {
    const r = await request(app.getHttpServer()).get(path).expect(200);
    expect(r.headers['content-type']).toBe(`${type}; charset=utf-8`);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.text).toBe(body);
  });
});
