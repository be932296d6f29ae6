import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markdownSha256 } from '@app/chunking';
import { DocumentEntity } from '@app/database';
import { PermanentError } from '@app/errors';
import { LocalStorageDriver } from '@app/storage';
import type { ClaimScratch, JobContext } from '../job-context';
import { testPipelineOptions } from '../pipeline.test-fixtures';
import { NO_TEXT_MESSAGE, ValidateParseHandler } from './validate-parse.handler';

/** parsed -> parse_validated on a real local store: readable text advances with its hash; nothing readable is `no_text`. */
describe('ValidateParseHandler', () => {
  let dir: string;
  let storage: LocalStorageDriver;
  let handler: ValidateParseHandler;

  async function parsed(markdown: string): Promise<DocumentEntity> {
    const doc = Object.assign(new DocumentEntity(), { documentId: randomUUID(), userId: randomUUID() });
    doc.parsedPath = `users/${doc.userId}/documents/${doc.documentId}/parsed.md`;
    await storage.putObject(doc.parsedPath, Buffer.from(markdown, 'utf8'));
    return doc;
  }
  const run = (document: DocumentEntity, scratch: ClaimScratch = {}) => handler.run({ document, scratch } as JobContext);
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'validate-parse-'));
    storage = new LocalStorageDriver({ root: dir, signingSecret: 'validate-parse-secret', publicBaseUrl: 'http://127.0.0.1:1' });
    handler = new ValidateParseHandler(storage, testPipelineOptions('w'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('advances a document with text and records the hash of its normalized markdown', async () => {
    const md = '# Report\r\n\r\nRevenue grew.  \n';
    expect(await run(await parsed(md))).toEqual({ type: 'advance', document: { parsedSha256: markdownSha256(md) } });
  });

  it('accepts short text in any script', async () => {
    for (const md of ['abc', '\u65e5\u672c\u8a9e', 'Tel 42']) expect(await run(await parsed(md))).toMatchObject({ type: 'advance' });
  });

  it.each([
    ['empty output', ''],
    ['whitespace only', '   \n\n  \n'],
    ['page separators of an image-only PDF parsed without OCR', '\n\n---\n\n\n\n---\n\n'],
    ['punctuation and an empty table', '| | |\n|---|---|\n\n. , ;'],
    ['a stray OCR speck', '- ~ a'],
    ['emoji only', '\u{1F600}\u{1F600}\u{1F600}'],
  ])('dead-letters %s as no_text, with a message the user can act on', async (_name, md) => {
    const e = await failure(run(await parsed(md)));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e).toMatchObject({ code: 'no_text', kind: 'permanent', message: NO_TEXT_MESSAGE });
    expect(NO_TEXT_MESSAGE).toMatch(/ocr: true/);
  });

  it('uses the markdown already in the claim scratch without reading the store', async () => {
    const doc = await parsed('stored text that is not read');
    const scratch: ClaimScratch = { markdown: '' };
    await expect(run(doc, scratch)).rejects.toMatchObject({ code: 'no_text' });
  });

  it('fails for good when the document has no parsed text stored', async () => {
    const doc = Object.assign(new DocumentEntity(), { documentId: randomUUID() });
    await expect(run(doc)).rejects.toMatchObject({ code: 'no_parsed_text' });
  });
});
