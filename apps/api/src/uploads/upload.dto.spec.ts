import { ValidationPipe } from '@nestjs/common';
import fc from 'fast-check';
import { ALLOWED_MIME_TYPES, CreateUploadDto } from './upload.dto';

/** class-validator and class-transformer alone, with the options of createValidationPipe(). */
const classValidator = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

async function slowPath(body: Record<string, unknown>): Promise<CreateUploadDto | 'refused'> {
  try {
    return (await classValidator.transform(body, { type: 'body', metatype: CreateUploadDto })) as CreateUploadDto;
  } catch {
    return 'refused';
  }
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));
// each field valid more often than not, so that many bodies are valid through and through
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: other });
const body = fc.record(
  {
    filename: mostly(
      fc.oneof(fc.stringMatching(/^[a-zA-Z0-9 ._()-]{1,40}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })),
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.integer({ min: 250, max: 260 }).map((n) => 'a'.repeat(n)),
        fc.integer({ min: 125, max: 130 }).map((n) => '\u{1F600}'.repeat(n)),
        fc.constantFrom('', '.', '..', '...', 'a/b', 'a\\b', 'a\u0000b', 'x\u0085', 'e\ufe0f', '\u2028', '.\n', '\ud800'),
        fc.jsonValue(),
      ),
    ),
    bytes_len: mostly(
      fc.integer({ min: 1 }),
      fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 1e300, '12'), fc.jsonValue()),
    ),
    mime: mostly(fc.constantFrom(...ALLOWED_MIME_TYPES), fc.oneof(fc.constantFrom('TEXT/PLAIN', 'text/plain ', 'image/png'), fc.jsonValue())),
    sha256: mostly(hex(64), fc.oneof(hex(63), hex(65), fc.string({ maxLength: 70 }), fc.jsonValue())),
    ocr: mostly(fc.oneof(fc.boolean(), fc.constant(null)), fc.oneof(fc.constantFrom('true', 0, 1), fc.jsonValue())),
    extra: fc.jsonValue(),
  },
  { requiredKeys: ['filename', 'bytes_len', 'mime', 'sha256'] },
);
const extraKey = fc.option(fc.constantFrom('extra', '__proto__', 'constructor', 'prototype', 'toString', 'Filename'), { nil: undefined, freq: 2 });

/** As JSON.parse gives a body (own `__proto__` keys included). */
function asParsed(b: Record<string, unknown>, key: string | undefined): Record<string, unknown> {
  const { extra, ...rest } = b;
  const json = JSON.stringify(rest);
  if (key === undefined || extra === undefined) return JSON.parse(json) as Record<string, unknown>;
  const withExtra = `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(extra)}}`;
  return JSON.parse(withExtra) as Record<string, unknown>;
}

describe('CreateUploadDto.validBody', () => {
  it('accepts only bodies class-validator accepts, and gives the DTO class-transformer builds', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, extraKey, async (b, key) => {
        const fast = CreateUploadDto.validBody(asParsed(b, key));
        if (fast === undefined) return;
        accepted++;
        const slow = await slowPath(asParsed(b, key));
        expect(slow).toBeInstanceOf(CreateUploadDto);
        expect(fast).toBeInstanceOf(CreateUploadDto);
        expect({ ...fast }).toEqual({ ...(slow as CreateUploadDto) });
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('takes the bodies clients send (so that they skip class-validator)', async () => {
    const sha = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';
    for (const b of [
      { filename: 'report.pdf', bytes_len: 48213, mime: 'application/pdf', sha256: sha },
      { filename: 'Notes (v2) – final.md', bytes_len: 1, mime: 'text/markdown', sha256: sha.toLowerCase(), ocr: true },
      { filename: 'a'.repeat(255), bytes_len: Number.MAX_SAFE_INTEGER, mime: 'text/plain', sha256: sha, ocr: null },
    ]) {
      const fast = CreateUploadDto.validBody({ ...b });
      expect(fast).toBeInstanceOf(CreateUploadDto);
      expect({ ...fast }).toEqual({ ...((await slowPath({ ...b })) as CreateUploadDto) });
      expect(fast?.sha256).toBe(sha.toLowerCase());
    }
  });
});
