import request from 'supertest';
import { SAMPLE_HTML, SAMPLE_MARKDOWN, SECRETS_IN_SAMPLE_HTML, buildZip, sampleDocx, samplePdf } from '@app/testing';
import { TestApp, startTestApp, waitForJob } from './helpers/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('mock-llamaparse parsing API (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MOCK_LLAMAPARSE_MAX_FILE_BYTES: String(64 * 1024) });
  });
  afterAll(() => t.close());

  async function upload(bytes: Buffer, filename: string, contentType?: string): Promise<string> {
    const res = await request(t.http)
      .post('/api/v1/parsing/upload')
      .attach('file', bytes, contentType ? { filename, contentType } : filename)
      .field('result_type', 'markdown')
      .field('language', 'en')
      .field('parsing_instruction', 'ignored by the mock')
      .field('disable_ocr', 'true')
      .field('some_future_option', 'whatever');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: expect.stringMatching(UUID), status: 'PENDING' });
    return (res.body as { id: string }).id;
  }

  async function markdownOf(id: string): Promise<{ markdown: string; job_metadata: Record<string, unknown> }> {
    expect(await waitForJob(t.http, id)).toEqual({ id, status: 'SUCCESS' });
    const res = await request(t.http).get(`/api/v1/parsing/job/${id}/result/markdown`);
    expect(res.status).toBe(200);
    return res.body as { markdown: string; job_metadata: Record<string, unknown> };
  }

  it('parses a 2-page PDF: pages joined by the separator, job_pages = 2', async () => {
    const id = await upload(samplePdf(), 'report.pdf', 'application/pdf');
    const body = await markdownOf(id);
    expect(body.markdown).toBe(
      'Quarterly report\nRevenue grew by twelve percent.\n\n---\n\nSecond page heading\nCosts were flat (as planned).',
    );
    expect(body.job_metadata).toMatchObject({ job_pages: 2, job_is_cache_hit: false, credits_used: 2 });
    const text = await request(t.http).get(`/api/v1/parsing/job/${id}/result/text`);
    expect(text.status).toBe(200);
    expect(text.body).toEqual({ text: body.markdown, job_metadata: body.job_metadata });
  });

  it('parses a DOCX', async () => {
    const body = await markdownOf(await upload(sampleDocx(), 'charter.docx'));
    expect(body.markdown).toContain('# Project Charter');
    expect(body.markdown).toContain('**Parsing, chunking and embedding.**');
    expect(body.job_metadata.job_pages).toBe(1);
  });

  it('parses HTML without any script, style or comment text', async () => {
    const id = await upload(Buffer.from(SAMPLE_HTML), 'notes.html', 'text/html');
    const body = await markdownOf(id);
    expect(body.markdown).toContain('# Release notes');
    for (const secret of SECRETS_IN_SAMPLE_HTML) expect(body.markdown).not.toContain(secret);
    const text = await request(t.http).get(`/api/v1/parsing/job/${id}/result/text`);
    expect((text.body as { text: string }).text).toContain('Version 2.0 ships a new parser.');
  });

  it('returns markdown and text files as they are (LF line endings)', async () => {
    expect((await markdownOf(await upload(Buffer.from(SAMPLE_MARKDOWN), 'notes.md'))).markdown).toBe(
      '# Notes\n\n- first item\n- second *item*\n',
    );
    expect((await markdownOf(await upload(Buffer.from('\ufeffhello\r\nworld'), 'a.txt'))).markdown).toBe('hello\nworld');
  });

  it('detects the type from the content type when the name has no extension', async () => {
    expect((await markdownOf(await upload(samplePdf(), 'blob', 'application/pdf'))).job_metadata.job_pages).toBe(2);
  });

  it('gives the same output for the same bytes', async () => {
    const a = await markdownOf(await upload(samplePdf(), 'a.pdf'));
    const b = await markdownOf(await upload(samplePdf(), 'b.pdf'));
    expect(b.markdown).toBe(a.markdown);
  });

  it('serves the older /api/parsing prefix too', async () => {
    const res = await request(t.http).post('/api/parsing/upload').attach('file', Buffer.from('x'), 'x.txt');
    expect(res.status).toBe(200);
    expect((await request(t.http).get(`/api/parsing/job/${(res.body as { id: string }).id}`)).status).toBe(200);
  });

  describe('documents that cannot be parsed end in ERROR', () => {
    it.each([
      ['a corrupt PDF', Buffer.from('%PDF-1.4 garbage garbage'), 'bad.pdf', /Could not read PDF file/],
      ['a corrupt DOCX', buildZip([{ name: 'x.txt', data: 'not word' }]), 'bad.docx', /Could not read DOCX file/],
      ['invalid UTF-8 text', Buffer.from([0x68, 0xc3, 0x28, 0xff]), 'bad.txt', /not valid UTF-8/],
    ])('%s', async (_name, bytes, filename, message) => {
      const id = await upload(bytes, filename);
      const status = await waitForJob(t.http, id);
      expect(status).toEqual({ id, status: 'ERROR', error_code: expect.any(String), error_message: expect.stringMatching(message) });
      for (const kind of ['markdown', 'text']) {
        const res = await request(t.http).get(`/api/v1/parsing/job/${id}/result/${kind}`);
        expect(res.status).toBe(400);
        expect((res.body as { detail: string }).detail).toMatch(message);
      }
    });
  });

  describe('bad requests', () => {
    it('404s unknown jobs and their results', async () => {
      const checks = async () => ((await request(t.http).get('/_mock/stats')).body as { statusChecks: number }).statusChecks;
      const before = await checks();
      for (const path of ['', '/result/markdown', '/result/text']) {
        const res = await request(t.http).get(`/api/v1/parsing/job/00000000-0000-4000-8000-000000000000${path}`);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ detail: 'Job not found' });
      }
      // the stats count status answers for known jobs only (a client's reachability probe asks for an unknown one)
      expect(await checks()).toBe(before);
      const id = await upload(Buffer.from('counted'), 'counted.txt');
      await request(t.http).get(`/api/v1/parsing/job/${id}`).expect(200);
      expect(await checks()).toBe(before + 1);
    });

    it('answers 404 "Job not completed" for the result of a job still PENDING', async () => {
      await request(t.http).put('/_mock/config').send({ latencyMs: 60_000 }).expect(200);
      try {
        const id = await upload(Buffer.from('slow'), 'slow.txt');
        expect((await request(t.http).get(`/api/v1/parsing/job/${id}`)).body).toEqual({ id, status: 'PENDING' });
        const res = await request(t.http).get(`/api/v1/parsing/job/${id}/result/markdown`);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ detail: 'Job not completed' });
      } finally {
        await request(t.http).put('/_mock/config').send({ latencyMs: 0 }).expect(200);
      }
    });

    it('rejects unsupported types with 400', async () => {
      for (const [name, type] of [
        ['photo.png', 'image/png'],
        ['legacy.doc', 'application/msword'],
        ['blob', 'application/octet-stream'],
      ]) {
        const res = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), { filename: name, contentType: type });
        expect(res.status).toBe(400);
        expect((res.body as { detail: string }).detail).toMatch(/^Unsupported file type/);
      }
    });

    it('rejects a missing or empty file with 400', async () => {
      const noFile = await request(t.http).post('/api/v1/parsing/upload').field('language', 'en');
      expect(noFile.status).toBe(400);
      expect((noFile.body as { detail: string }).detail).toMatch(/No file uploaded/);
      const json = await request(t.http).post('/api/v1/parsing/upload').send({ file: 'x' });
      expect(json.status).toBe(400);
      const empty = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.alloc(0), 'empty.txt');
      expect(empty.status).toBe(400);
      expect(empty.body).toEqual({ detail: 'File is empty' });
    });

    it('rejects a file over the size limit with 413', async () => {
      const res = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.alloc(64 * 1024 + 1, 'a'), 'big.txt');
      expect(res.status).toBe(413);
      expect((res.body as { detail: string }).detail).toMatch(/File too large/);
      const atLimit = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.alloc(64 * 1024, 'a'), 'ok.txt');
      expect(atLimit.status).toBe(200);
    });

    it('rejects a webhook_url that is not http(s)', async () => {
      for (const url of ['not a url', 'ftp://example.com/hook', 'javascript:alert(1)']) {
        const res = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), 'x.txt').field('webhook_url', url);
        expect(res.status).toBe(400);
        expect((res.body as { detail: string }).detail).toMatch(/Invalid webhook_url/);
      }
    });

    const B = 'XyZboundary';
    it.each([
      ['multipart without a boundary', 'multipart/form-data', 'hello'],
      ['a body cut off mid-part', `multipart/form-data; boundary=${B}`, `--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhel`],
      ['garbage after the boundary', `multipart/form-data; boundary=${B}`, `--${B}\r\n\x00\x01\x02garbage`],
      ['a part with a broken header', `multipart/form-data; boundary=${B}`, `--${B}\r\nContent-Disposition form-data name=file\r\n\r\nx\r\n--${B}--\r\n`],
      ['a part without a name', `multipart/form-data; boundary=${B}`, `--${B}\r\nContent-Disposition: form-data; filename="a.txt"\r\n\r\nx\r\n--${B}--\r\n`],
      ['the file in another field', `multipart/form-data; boundary=${B}`, `--${B}\r\nContent-Disposition: form-data; name="document"; filename="a.txt"\r\n\r\nx\r\n--${B}--\r\n`],
      [
        'two files',
        `multipart/form-data; boundary=${B}`,
        `--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nx\r\n` +
          `--${B}\r\nContent-Disposition: form-data; name="file"; filename="b.txt"\r\n\r\ny\r\n--${B}--\r\n`,
      ],
      ['an empty body', `multipart/form-data; boundary=${B}`, ''],
    ])('answers 400 (never 500) for %s', async (_name, contentType, body) => {
      const res = await request(t.http).post('/api/v1/parsing/upload').set('Content-Type', contentType).send(Buffer.from(body, 'latin1'));
      expect(res.status).toBe(400);
      expect(typeof (res.body as { detail: unknown }).detail).toBe('string');
    });
  });
});

describe('mock-llamaparse API key (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MOCK_LLAMAPARSE_API_KEY: 'llx-test-key' });
  });
  afterAll(() => t.close());

  it('401s a missing or wrong key on every parsing route and accepts the right one', async () => {
    const missing = await request(t.http).post('/api/v1/parsing/upload').attach('file', Buffer.from('x'), 'x.txt');
    expect(missing.status).toBe(401);
    expect((missing.body as { detail: string }).detail).toMatch(/Missing API key/);
    const wrong = await request(t.http).post('/api/v1/parsing/upload').set('Authorization', 'Bearer llx-other').attach('file', Buffer.from('x'), 'x.txt');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ detail: 'Invalid API key' });
    expect((await request(t.http).get('/api/v1/parsing/job/abc').set('Authorization', 'Basic abc')).status).toBe(401);

    const ok = await request(t.http).post('/api/v1/parsing/upload').set('Authorization', 'Bearer llx-test-key').attach('file', Buffer.from('x'), 'x.txt');
    expect(ok.status).toBe(200);
    const id = (ok.body as { id: string }).id;
    expect((await request(t.http).get(`/api/v1/parsing/job/${id}`)).status).toBe(401);
    expect((await waitForJob(t.http, id, 'llx-test-key')).status).toBe('SUCCESS');
  });

  it('leaves health and admin routes open', async () => {
    expect((await request(t.http).get('/health/live')).status).toBe(200);
    expect((await request(t.http).get('/_mock/stats')).status).toBe(200);
  });
});
