import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  INestApplication,
  Logger,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import type { Request } from 'express';
import type { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { ApiError, ErrorBody, applyHttpDefaults } from '../src';

class AddressDto {
  @IsString()
  @Length(1, 50)
  city: string;

  @Matches(/^\d{5}$/)
  zip: string;
}

class TagDto {
  @IsString()
  @Length(1, 20)
  name: string;
}

class CreateDocDto {
  @IsString()
  @Length(1, 255)
  filename: string;

  @IsInt()
  @Min(1)
  bytes_len: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => AddressDto)
  address?: AddressDto;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(5)
  @ValidateNested({ each: true })
  @Type(() => TagDto)
  tags?: TagDto[];
}

class ListQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

@Controller('t')
class SampleController {
  @Post('docs')
  create(@Body() dto: CreateDocDto): { isDto: boolean; dto: CreateDocDto } {
    return { isDto: dto instanceof CreateDocDto, dto };
  }

  @Post('anything')
  anything(@Body() body: unknown): { type: string } {
    return { type: Buffer.isBuffer(body) ? 'buffer' : typeof body };
  }

  @Get('list')
  list(@Query() q: ListQueryDto): { limit: number | undefined } {
    return { limit: q.limit };
  }

  @Get('items/:id')
  item(@Param('id', ParseUUIDPipe) id: string): { id: string } {
    return { id };
  }

  @Get('boom')
  boom(): never {
    throw new Error('query failed: SELECT * FROM secret_table WHERE password = $1');
  }

  @Get('boom-string')
  boomString(): never {
    throw 'a thrown string';
  }

  @Get('api-error')
  apiError(): never {
    throw new ApiError(409, 'duplicate_document', 'Document already exists', [
      { field: 'sha256', messages: ['taken'] },
    ]);
  }

  @Get('forbidden')
  forbidden(): never {
    throw new ForbiddenException('Not your document');
  }

  @Get('unavailable')
  unavailable(): never {
    throw new ServiceUnavailableException({ status: 'error', details: { database: { status: 'down' } } });
  }

  @Get('id')
  id(@Req() req: Request): { id: unknown } {
    return { id: (req as Request & { id?: unknown }).id };
  }
}

/** superagent JSON-encodes Buffers unless told to send bytes as they are. */
const asIs = (body: unknown): string => body as string;

const VALID = '{"filename":"a","bytes_len":1}';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('@app/http e2e', () => {
  let app: INestApplication;
  let server: Server;
  let logError: jest.SpyInstance;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [SampleController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    applyHttpDefaults(app, { bodyLimit: '1kb' });
    await app.init();
    server = app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error');
  });

  afterEach(() => {
    logError.mockRestore();
  });

  function expectShape(body: ErrorBody, status: number, code: string): void {
    expect(body.error.status).toBe(status);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(typeof body.error.request_id).toBe('string');
    expect(Object.keys(body)).toEqual(['error']);
  }

  const postJson = (raw: string) =>
    request(server).post('/t/docs').set('Content-Type', 'application/json').send(raw);

  it('accepts a valid body and transforms it into the DTO', async () => {
    const res = await request(server)
      .post('/t/docs')
      .send({
        filename: 'a.pdf',
        bytes_len: 10,
        address: { city: 'Oslo', zip: '01234' },
        tags: [{ name: 'x' }],
      })
      .expect(201);
    expect(res.body).toEqual({
      isDto: true,
      dto: {
        filename: 'a.pdf',
        bytes_len: 10,
        address: { city: 'Oslo', zip: '01234' },
        tags: [{ name: 'x' }],
      },
    });
  });

  it('malformed JSON -> 400 invalid_json without echoing the body', async () => {
    const res = await postJson('{"filename": "a.pdf", "bytes_len": 1,,, SECRETBODY').expect(400);
    expectShape(res.body, 400, 'invalid_json');
    expect(JSON.stringify(res.body)).not.toContain('SECRETBODY');
  });

  it('wrong content-type -> 415 for a DTO body', async () => {
    const res = await request(server)
      .post('/t/docs')
      .set('Content-Type', 'text/plain')
      .send('filename=a')
      .expect(415);
    expectShape(res.body, 415, 'unsupported_media_type');
    expect(res.body.error.message).toContain('application/json');
  });

  it('a raw octet-stream body sent to a DTO route -> 415', async () => {
    const res = await request(server)
      .post('/t/docs')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('{"filename":"a"}'))
      .expect(415);
    expectShape(res.body, 415, 'unsupported_media_type');
  });

  it('raw octet-stream bodies are parsed to a Buffer for routes that want them', async () => {
    const res = await request(server)
      .post('/t/anything')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from([1, 2, 3]))
      .expect(201);
    expect(res.body).toEqual({ type: 'buffer' });
  });

  it('no body at all -> 400 invalid_body', async () => {
    const res = await request(server).post('/t/docs').expect(400);
    expectShape(res.body, 400, 'invalid_body');
  });

  it.each<[string, number, string, string, string | undefined, string | Buffer]>([
    [
      'an unsupported charset',
      415,
      'unsupported_media_type',
      'application/json; charset=klingon',
      undefined,
      VALID,
    ],
    ['an unsupported Content-Encoding', 415, 'unsupported_media_type', 'application/json', 'compress', VALID],
    ['a corrupt gzip body', 400, 'bad_request', 'application/json', 'gzip', Buffer.from('not gzip')],
  ])('%s -> %i %s', async (_name, status, code, contentType, encoding, body) => {
    const req = request(server).post('/t/docs').set('Content-Type', contentType);
    if (encoding) req.set('Content-Encoding', encoding);
    const res = await req.serialize(asIs).send(body).expect(status);
    expectShape(res.body, status, code);
  });

  it('a gzip-encoded JSON body is accepted', async () => {
    const res = await request(server)
      .post('/t/docs')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize(asIs)
      .send(gzipSync(VALID))
      .expect(201);
    expect(res.body.isDto).toBe(true);
  });

  it('oversized body -> 413 payload_too_large', async () => {
    const res = await request(server)
      .post('/t/docs')
      .send({ filename: 'x'.repeat(2000), bytes_len: 1 })
      .expect(413);
    expectShape(res.body, 413, 'payload_too_large');
    expect(res.body.error.message).toContain('1024');
  });

  it.each([
    ['an array', '[{"filename":"a","bytes_len":1}]'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['a number', '42'],
  ])('a body that is %s -> 400 invalid_body', async (_name, raw) => {
    const res = await postJson(raw).expect(400);
    expectShape(res.body, 400, 'invalid_body');
    expect(res.body.error.message).toBe('Request body must be a JSON object');
  });

  it('unknown field -> 400 validation_failed naming it', async () => {
    const res = await request(server)
      .post('/t/docs')
      .send({ filename: 'a', bytes_len: 1, extra: true })
      .expect(400);
    expectShape(res.body, 400, 'validation_failed');
    expect(res.body.error.message).toBe('Request validation failed');
    expect(res.body.error.details).toEqual([
      { field: 'extra', messages: ['property extra should not exist'] },
    ]);
  });

  it('a __proto__ key is dropped without polluting prototypes', async () => {
    const res = await postJson('{"filename":"a","bytes_len":1,"__proto__":{"admin":true}}').expect(201);
    expect(res.body).toEqual({ isDto: true, dto: { filename: 'a', bytes_len: 1 } });
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
  });

  it('lists every invalid field, nested ones as dotted paths', async () => {
    const res = await request(server)
      .post('/t/docs')
      .send({
        filename: '',
        bytes_len: 'ten',
        address: { city: 'Oslo', zip: 'abc', floor: 3 },
        tags: [{ name: 'ok' }, { name: 7 }],
      })
      .expect(400);
    expectShape(res.body, 400, 'validation_failed');
    const details = res.body.error.details as { field: string; messages: string[] }[];
    expect(details.map((d) => d.field).sort()).toEqual([
      'address.floor',
      'address.zip',
      'bytes_len',
      'filename',
      'tags.1.name',
    ]);
    const bytes = details.find((d) => d.field === 'bytes_len');
    expect(bytes?.messages).toEqual(expect.arrayContaining(['bytes_len must be an integer number']));
    for (const d of details) expect(d.messages.length).toBeGreaterThan(0);
  });

  it('validates query DTOs too', async () => {
    await request(server).get('/t/list?limit=5').expect(200, { limit: 5 });
    const res = await request(server).get('/t/list?limit=abc').expect(400);
    expectShape(res.body, 400, 'validation_failed');
    expect(res.body.error.details[0].field).toBe('limit');
    const unknown = await request(server).get('/t/list?sort=desc').expect(400);
    expect(unknown.body.error.details).toEqual([
      { field: 'sort', messages: ['property sort should not exist'] },
    ]);
  });

  it('built-in pipes answer 400 bad_request', async () => {
    const res = await request(server).get('/t/items/not-a-uuid').expect(400);
    expectShape(res.body, 400, 'bad_request');
    expect(res.body.error.message).toContain('uuid');
  });

  it('a malformed percent-encoded path -> 400, not 500', async () => {
    const res = await request(server).get('/t/items/%E0%A4%A').expect(400);
    expectShape(res.body, 400, 'bad_request');
  });

  it('unknown route -> 404 not_found without echoing the query string', async () => {
    const res = await request(server).get('/nope/here?token=SECRET').expect(404);
    expectShape(res.body, 404, 'not_found');
    expect(res.body.error.message).toBe('Route not found: GET /nope/here');
    const post = await request(server).post('/t/unknown').send({}).expect(404);
    expectShape(post.body, 404, 'not_found');
  });

  it('a plain Error -> 500 internal_error, generic message, real error logged', async () => {
    const res = await request(server).get('/t/boom').expect(500);
    expectShape(res.body, 500, 'internal_error');
    expect(res.body.error.message).toBe('Internal server error');
    const text = JSON.stringify(res.body);
    expect(text).not.toContain('SELECT');
    expect(text).not.toContain('secret_table');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(logError).toHaveBeenCalledTimes(1);
    expect(String(logError.mock.calls[0][0])).toContain('SELECT * FROM secret_table');
    expect(String(logError.mock.calls[0][1])).toContain('boom');
  });

  it('a thrown non-Error -> 500 internal_error', async () => {
    const res = await request(server).get('/t/boom-string').expect(500);
    expectShape(res.body, 500, 'internal_error');
    expect(String(logError.mock.calls[0][0])).toContain('a thrown string');
  });

  it('ApiError passes through with its own code and details', async () => {
    const res = await request(server).get('/t/api-error').expect(409);
    expectShape(res.body, 409, 'duplicate_document');
    expect(res.body.error.message).toBe('Document already exists');
    expect(res.body.error.details).toEqual([{ field: 'sha256', messages: ['taken'] }]);
    expect(logError).not.toHaveBeenCalled();
  });

  it('Nest HttpExceptions map to stable codes and keep their message', async () => {
    const res = await request(server).get('/t/forbidden').expect(403);
    expectShape(res.body, 403, 'forbidden');
    expect(res.body.error.message).toBe('Not your document');
    expect(res.body.error.details).toBeUndefined();
  });

  it('an HttpException with an object payload (terminus style) keeps it as details', async () => {
    const res = await request(server).get('/t/unavailable').expect(503);
    expectShape(res.body, 503, 'unavailable');
    expect(res.body.error.details).toEqual({ database: { status: 'down' } });
  });

  it('echoes a sane x-request-id in the header, req.id and error bodies', async () => {
    const ok = await request(server).get('/t/id').set('x-request-id', 'abc-123:x.y_z').expect(200);
    expect(ok.headers['x-request-id']).toBe('abc-123:x.y_z');
    expect(ok.body).toEqual({ id: 'abc-123:x.y_z' });

    const err = await request(server).get('/t/api-error').set('x-request-id', 'req-42').expect(409);
    expect(err.headers['x-request-id']).toBe('req-42');
    expect(err.body.error.request_id).toBe('req-42');

    const parseErr = await postJson('{oops').set('x-request-id', 'req-43').expect(400);
    expect(parseErr.body.error.request_id).toBe('req-43');
  });

  it('replaces an insane or missing x-request-id with a UUID', async () => {
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '']) {
      const res = await request(server).get('/t/api-error').set('x-request-id', bad).expect(409);
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
    }
    const none = await request(server).get('/nope').expect(404);
    expect(none.headers['x-request-id']).toMatch(UUID);
    expect(none.body.error.request_id).toBe(none.headers['x-request-id']);
    expect(none.headers['x-request-id']).not.toBe(
      (await request(server).get('/nope')).headers['x-request-id'],
    );
  });

  it('does not send x-powered-by and answers errors as JSON', async () => {
    const res = await request(server).get('/nope').expect(404);
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('applyHttpDefaults with raw: false on an app created with bodyParser: false', () => {
  let app: INestApplication;
  let server: Server;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [SampleController] }).compile();
    app = moduleRef.createNestApplication({ logger: false, bodyParser: false });
    applyHttpDefaults(app, { bodyLimit: '2kb', raw: false });
    await app.init();
    server = app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await app.close();
  });

  it('leaves octet-stream bodies unread for handlers that stream them', async () => {
    await request(server)
      .post('/t/anything')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.alloc(4096))
      .expect(201, { type: 'undefined' });
  });

  it('still parses JSON up to its own limit and refuses unknown content types for DTOs', async () => {
    await request(server)
      .post('/t/anything')
      .send({ text: 'x'.repeat(1500) })
      .expect(201, { type: 'object' });
    const big = await request(server)
      .post('/t/docs')
      .send({ filename: 'x'.repeat(2500), bytes_len: 1 })
      .expect(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const raw = await request(server)
      .post('/t/docs')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('{}'))
      .expect(415);
    expect(raw.body.error.code).toBe('unsupported_media_type');
  });
});
