import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError, FieldError } from './api-error';

/**
 * Thrown when a DTO-typed `@Body()` received no parsed body at all. The exception filter answers 415
 * when the request did carry a body (its Content-Type matched no body parser), 400 otherwise.
 */
export class MissingBodyError extends ApiError {
  constructor() {
    super(
      400,
      'invalid_body',
      'Request body is required: a JSON object sent with Content-Type: application/json',
    );
  }
}

/** Flattens class-validator errors into `{ field, messages }`, nested fields as dotted paths. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own: FieldError[] = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const UNVALIDATED_TYPES: readonly unknown[] = [String, Boolean, Number, Array, Object, Buffer, Date];

/**
 * A DTO class may check a whole JSON body itself, before class-validator (which costs most of a small request's
 * validation): `validBody` returns the DTO for a body it finds valid, and undefined for any other, which class-validator
 * then checks as usual (and words the errors). It must accept only bodies that class-validator accepts (whitelist and
 * forbidNonWhitelisted included), and return what class-transformer builds from them.
 */
export interface ValidBodyCheck<T> {
  validBody(body: Record<string, unknown>): T | undefined;
}

/**
 * Deepest nesting a DTO-validated value may have. class-transformer recurses once per level, so a
 * body like `{"a":[[[...]]]}` a few thousand levels deep (well inside the size limit) overflowed the
 * stack and answered 500. Our DTOs are shallow; anything deeper is refused with a 400.
 */
export const MAX_INPUT_DEPTH = 32;

/** True when objects/arrays nest more than `max` levels below `value` (iterative: no recursion to overflow). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    if (typeof top.v !== 'object' || top.v === null) continue;
    if (top.depth > max) return true;
    for (const child of Array.isArray(top.v) ? top.v : Object.values(top.v)) {
      if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: top.depth + 1 });
    }
  }
  return false;
}

/**
 * ValidationPipe that first insists a DTO-typed whole body (`@Body() dto: Dto`) is a JSON object (not
 * an array, string, number, null, raw Buffer or missing), so such bodies get a 4xx, never a 500.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isWholeDtoBody =
      metadata.type === 'body' &&
      metadata.data === undefined &&
      !!metadata.metatype &&
      !UNVALIDATED_TYPES.includes(metadata.metatype);
    if (isWholeDtoBody) {
      if (value === undefined) throw new MissingBodyError();
      if (Buffer.isBuffer(value))
        throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
      if (!isPlainObject(value))
        throw new ApiError(400, 'invalid_body', 'Request body must be a JSON object');
    }
    const validated = !!metadata.metatype && !UNVALIDATED_TYPES.includes(metadata.metatype);
    if (validated && nestsDeeperThan(value, MAX_INPUT_DEPTH))
      throw new ApiError(400, 'invalid_body', `Request ${metadata.type} nests more than ${MAX_INPUT_DEPTH} levels deep`);
    if (isWholeDtoBody) {
      const dto = (metadata.metatype as Partial<ValidBodyCheck<unknown>>).validBody?.(value as Record<string, unknown>);
      if (dto !== undefined) return dto;
    }
    // what ValidationPipe does with a custom decorator's value without validateCustomDecorators, without its detour
    if (metadata.type === 'custom' && !this.validateCustomDecorators) return value;
    return super.transform(value, metadata);
  }
}

/**
 * The global pipe of our services: whitelist + forbidNonWhitelisted + transform; every failure is
 * `ApiError(400, 'validation_failed', 'Request validation failed', [{ field, messages }])`.
 */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors: ValidationError[]) =>
      new ApiError(400, 'validation_failed', 'Request validation failed', flattenValidationErrors(errors)),
  });
}
