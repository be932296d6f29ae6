import { IsInt, IsString } from 'class-validator';
import { ApiError } from './api-error';
import { createValidationPipe } from './validation.pipe';

class PlainDto {
  @IsString()
  name!: string;
}

/** Takes `{ name: 'fast' }` itself; everything else goes to class-validator. */
class CheckedDto {
  static seen = 0;

  static validBody(body: Record<string, unknown>): CheckedDto | undefined {
    CheckedDto.seen++;
    if (Object.keys(body).length !== 1 || body['name'] !== 'fast') return undefined;
    return Object.assign(new CheckedDto(), body);
  }

  @IsString()
  name!: string;

  @IsInt()
  n?: number;
}

async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

describe('AppValidationPipe', () => {
  const pipe = createValidationPipe();

  it("a DTO's validBody answers the bodies it takes; class-validator checks the others and words their errors", async () => {
    const fast = await pipe.transform({ name: 'fast' }, { type: 'body', metatype: CheckedDto });
    expect(fast).toBeInstanceOf(CheckedDto);
    expect(fast).toEqual(Object.assign(new CheckedDto(), { name: 'fast' }));
    const slow = await errorOf(pipe.transform({ name: 'slow' }, { type: 'body', metatype: CheckedDto }));
    expect(slow.code).toBe('validation_failed');
    expect(slow.details).toEqual([{ field: 'n', messages: ['n must be an integer number'] }]);
    expect(CheckedDto.seen).toBe(2);
  });

  it('validBody runs after the body checks: a missing, non-object or too deep body never reaches it', async () => {
    CheckedDto.seen = 0;
    expect((await errorOf(pipe.transform(undefined, { type: 'body', metatype: CheckedDto }))).code).toBe('invalid_body');
    expect((await errorOf(pipe.transform(['fast'], { type: 'body', metatype: CheckedDto }))).code).toBe('invalid_body');
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect((await errorOf(pipe.transform({ name: 'fast', deep }, { type: 'body', metatype: CheckedDto }))).code).toBe('invalid_body');
    expect(CheckedDto.seen).toBe(0);
  });

  it('DTOs without validBody are checked by class-validator as before', async () => {
    expect(await pipe.transform({ name: 'x' }, { type: 'body', metatype: PlainDto })).toBeInstanceOf(PlainDto);
    expect((await errorOf(pipe.transform({ name: 'x', extra: 1 }, { type: 'body', metatype: PlainDto }))).details).toEqual([
      { field: 'extra', messages: ['property extra should not exist'] },
    ]);
  });

  it("a custom decorator's value is passed through as is (not validated), unless it nests too deep", async () => {
    const user = { userId: 'u', role: 'r' };
    expect(await pipe.transform(user, { type: 'custom', metatype: Object })).toBe(user);
    expect(await pipe.transform('req-1', { type: 'custom', metatype: String })).toBe('req-1');
    const odd = { name: 42 };
    expect(await pipe.transform(odd, { type: 'custom', metatype: PlainDto })).toBe(odd);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { deep };
    expect((await errorOf(pipe.transform(deep, { type: 'custom', metatype: PlainDto }))).code).toBe('invalid_body');
  });
});
