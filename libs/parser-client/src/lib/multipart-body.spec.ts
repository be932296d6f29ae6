import { multipartBody } from './multipart-body';

/** Parsed back by undici's multipart parser (what `Request.formData()` uses), not by our own reading of it. */
async function parse(body: Buffer, contentType: string): Promise<FormData> {
  return new Response(body, { headers: { 'content-type': contentType } }).formData();
}

describe('multipartBody', () => {
  it('encodes text fields and a file that a multipart parser reads back byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 255, 254]); // CR LF "--" inside the file
    const { body, contentType } = multipartBody([
      ['file', { bytes, type: 'application/pdf', fileName: 'report.pdf' }],
      ['configuration', '{"tier":"cost_effective"}'],
      ['webhook_url', 'http://api:3000/api/v2/webhooks/llamaparse/1'],
    ]);
    expect(contentType).toMatch(/^multipart\/form-data; boundary=----ingest[0-9a-f]{32}$/);
    const form = await parse(body, contentType);
    const file = form.get('file') as File;
    expect(file.name).toBe('report.pdf');
    expect(file.type).toBe('application/pdf');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(bytes);
    expect(form.get('configuration')).toBe('{"tier":"cost_effective"}');
    expect(form.get('webhook_url')).toBe('http://api:3000/api/v2/webhooks/llamaparse/1');
    expect([...form.keys()]).toEqual(['file', 'configuration', 'webhook_url']);
  });

  it('escapes quotes and line breaks in names and file names, and sends line breaks in text values as CRLF (as FormData does)', async () => {
    const { body, contentType } = multipartBody([
      ['file', { bytes: Buffer.from('x'), type: 'text/markdown', fileName: 'a "quoted"\r\nname.md' }],
      ['note', 'one\ntwo\rthree\r\nfour'],
    ]);
    const text = body.toString('latin1');
    expect(text).toContain('filename="a %22quoted%22%0D%0Aname.md"');
    expect(text).toContain('one\r\ntwo\r\nthree\r\nfour');
    const form = await parse(body, contentType);
    // the parser decodes the escapes: the name comes back as it was
    expect((form.get('file') as File).name).toBe('a "quoted"\r\nname.md');
    expect(form.get('note')).toBe('one\r\ntwo\r\nthree\r\nfour');
  });

  it('gives an empty file part and a distinct boundary each time', async () => {
    const a = multipartBody([['file', { bytes: Buffer.alloc(0), type: '', fileName: 'empty.txt' }]]);
    const b = multipartBody([['file', { bytes: Buffer.alloc(0), type: '', fileName: 'empty.txt' }]]);
    expect(a.contentType).not.toBe(b.contentType);
    const file = (await parse(a.body, a.contentType)).get('file') as File;
    expect(file.size).toBe(0);
    expect(file.type).toBe('application/octet-stream');
  });
});
