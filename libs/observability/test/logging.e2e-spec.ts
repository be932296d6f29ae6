import {
  Body,
  Controller,
  Get,
  INestApplication,
  Injectable,
  InternalServerErrorException,
  Logger,
  Module,
  Param,
  Post,
  Put,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import request from 'supertest';
import { applyHttpDefaults } from '@app/http';
import { currentCorrelationId, LoggingModule, MetricsModule, PinoNestLogger, REDACTED, withCorrelation } from '../src';
import { LogCapture } from './log-capture';

const SIG = 'c2lnbmF0dXJlLXNlY3JldA';
const SIGNED_PATH = `/api/v2/storage/upload?key=raw%2Fu%2Fdoc.pdf&expires=1900000000&size=5&sha256=${'a'.repeat(64)}&sig=${SIG}`;

@Injectable()
class StageService {
  private readonly logger = new Logger('StageRunner');

  /** What the worker does: run a job's work inside its correlation id, outside any HTTP request. */
  runJob(correlationId: string): Promise<string | undefined> {
    return withCorrelation(correlationId, async () => {
      await new Promise((r) => setTimeout(r, 2));
      this.logger.log({ stage: 'parsing', job: { webhook_secret: 'whs_topsecret' } }, 'stage started');
      return currentCorrelationId();
    });
  }
}

@Controller()
class DemoController {
  private readonly logger = new Logger('Demo');

  @Get('api/v2/jobs/:id')
  async job(@Param('id') id: string): Promise<{ id: string; correlation_id?: string }> {
    await new Promise((r) => setTimeout(r, 1));
    this.logger.log(`looking up job ${id}`);
    return { id, correlation_id: currentCorrelationId() };
  }

  @Post('api/v2/upload')
  upload(@Body() body: { filename: string }): { signed_url: string } {
    const signed_url = `http://localhost:8000${SIGNED_PATH}`;
    this.logger.log({ filename: body.filename, signed_url }, 'upload accepted');
    return { signed_url };
  }

  @Put('api/v2/storage/upload')
  put(): { ok: true } {
    return { ok: true };
  }

  @Get('boom')
  boom(): never {
    throw new InternalServerErrorException('kaput');
  }

  @Get('health/live')
  live(): { status: string } {
    this.logger.log('health probe');
    return { status: 'ok' };
  }
}

describe('LoggingModule (e2e)', () => {
  const capture = new LogCapture();
  let app: INestApplication;
  let server: Server;
  let bootLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    @Module({
      imports: [LoggingModule.forRoot({ app: 'test-api', level: 'info', destination: capture }), MetricsModule.forRoot({ app: 'test-api', defaultMetrics: false })],
      controllers: [DemoController],
      providers: [StageService],
    })
    class AppModule {}

    app = await NestFactory.create(AppModule, { bufferLogs: true });
    app.useLogger(app.get(PinoNestLogger));
    applyHttpDefaults(app, { bodyLimit: '1mb' });
    await app.init();
    app.flushLogs(); // listen() does this in the apps; tests that only init() must do it themselves
    bootLines = capture.entries;
    server = app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => capture.clear());

  it("Nest's own logs, buffered during bootstrap, come out as pino JSON lines", () => {
    expect(bootLines.find((e) => e['msg'] === 'Nest application successfully started')).toMatchObject({
      app: 'test-api',
      level: 'info',
      context: 'NestApplication',
    });
    expect(bootLines.every((e) => typeof e['time'] === 'string')).toBe(true);
  });

  it('request lines carry the x-request-id as req_id and correlation_id, in handler logs and the completion line', async () => {
    const res = await request(server).get('/api/v2/jobs/42').set('x-request-id', 'req-abc-123').expect(200);
    expect(res.headers['x-request-id']).toBe('req-abc-123');
    expect(res.body).toEqual({ id: '42', correlation_id: 'req-abc-123' });

    const handler = await capture.waitFor((e) => e['msg'] === 'looking up job 42');
    expect(handler).toMatchObject({ app: 'test-api', level: 'info', context: 'Demo', req_id: 'req-abc-123', correlation_id: 'req-abc-123' });
    const done = await capture.waitFor((e) => e['msg'] === 'request completed');
    expect(done).toMatchObject({
      app: 'test-api',
      level: 'info',
      req_id: 'req-abc-123',
      correlation_id: 'req-abc-123',
      req: { id: 'req-abc-123', method: 'GET', url: '/api/v2/jobs/42' },
      res: { statusCode: 200 },
    });
    expect(typeof done['responseTime']).toBe('number');
    for (const raw of capture.raw) expect(raw.match(/"correlation_id"/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it('one completion line per request, with the fields (and their order) pino-http wrote', async () => {
    await request(server).get('/api/v2/jobs/5?page=2').set('x-request-id', 'shape-1').set('user-agent', 'shape/1').expect(200);
    await request(server).get('/api/v2/jobs/6').set('x-request-id', 'shape-2').expect(200); // a barrier
    await capture.waitFor((e) => e['req_id'] === 'shape-2' && e['msg'] === 'request completed');
    const lines = capture.raw.filter((l) => l.includes('"req_id":"shape-1"') && l.includes('"responseTime"'));
    expect(lines).toHaveLength(1);
    const done = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(Object.keys(done)).toEqual(['level', 'time', 'app', 'pid', 'hostname', 'req', 'req_id', 'correlation_id', 'res', 'responseTime', 'msg']);
    const req = done['req'] as Record<string, unknown>;
    expect(Object.keys(req)).toEqual(['id', 'method', 'url', 'query', 'headers', 'remoteAddress', 'remotePort']);
    expect(req).toMatchObject({ id: 'shape-1', method: 'GET', url: '/api/v2/jobs/5?page=2', query: { page: '2' }, headers: { 'user-agent': 'shape/1' } });
    expect(typeof req['remotePort']).toBe('number');
    expect(done).toMatchObject({ level: 'info', app: 'test-api', correlation_id: 'shape-1', msg: 'request completed' });
  });

  it('generates a request id when none is sent, and echoes it', async () => {
    const res = await request(server).get('/api/v2/jobs/7').expect(200);
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const done = await capture.waitFor((e) => e['msg'] === 'request completed');
    expect(done).toMatchObject({ req_id: id, correlation_id: id });
  });

  it('logs only the allowed request headers and the length sent: no authorization, cookie or signature', async () => {
    await request(server)
      .get('/api/v2/jobs/1')
      .set('authorization', 'Bearer eyJhbGciOi.secret-payload.sig')
      .set('cookie', 'session=cookie-secret')
      .set('x-webhook-signature', 'sha256=deadbeefcafe')
      .set('user-agent', 'log-test/1')
      .expect(200);
    const done = await capture.waitFor((e) => e['msg'] === 'request completed');
    const req = done['req'] as { headers: Record<string, unknown> };
    expect(Object.keys(req.headers).sort()).toEqual(['host', 'user-agent']);
    expect(req.headers['user-agent']).toBe('log-test/1');
    expect(done['res']).toEqual({ statusCode: 200, headers: { 'content-length': expect.any(String) } });
    expect(capture.text).not.toMatch(/secret-payload|cookie-secret|deadbeefcafe/);
  });

  it("a signed URL's sig never appears: not from the request URL, not from a logged signed_url", async () => {
    await request(server).post('/api/v2/upload').send({ filename: 'doc.pdf' }).expect(201);
    await request(server).put(SIGNED_PATH).send('hello').expect(200);
    const accepted = await capture.waitFor((e) => e['msg'] === 'upload accepted');
    expect(accepted['signed_url']).toBe(`http://localhost:8000/api/v2/storage/upload?${REDACTED}`);
    const put = await capture.waitFor((e) => e['msg'] === 'request completed' && (e['req'] as { method: string }).method === 'PUT');
    expect(put['req']).toMatchObject({ url: `/api/v2/storage/upload?${REDACTED}`, query: REDACTED });
    expect(capture.raw.length).toBeGreaterThanOrEqual(3);
    expect(capture.text).not.toContain(SIG);
    expect(capture.text).not.toContain('expires=1900000000');
  });

  it('health and metrics requests are not logged on completion', async () => {
    await request(server).get('/health/live').expect(200);
    const scrape = await request(server).get('/metrics').expect(200);
    // both modules' catch-all middleware together still leave route templates intact
    expect(scrape.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/health\/live"[^}]*\} 1/);
    await request(server).get('/api/v2/jobs/9').expect(200); // a request that is logged, as a barrier
    await capture.waitFor((e) => e['msg'] === 'request completed');
    const completed = capture.entries.filter((e) => e['msg'] === 'request completed');
    expect(completed.map((e) => (e['req'] as { url: string }).url)).toEqual(['/api/v2/jobs/9']);
    // what the handler itself logs still goes out, with its correlation id
    expect(capture.find((e) => e['msg'] === 'health probe')).toHaveProperty('correlation_id');
  });

  it('5xx completes at level error, with the err pino-http gave it', async () => {
    await request(server).get('/boom').set('x-request-id', 'boom-1').expect(500);
    const done = await capture.waitFor((e) => e['req_id'] === 'boom-1' && e['res'] !== undefined);
    expect(done).toMatchObject({ level: 'error', res: { statusCode: 500 }, msg: 'request errored' });
    expect(done['err']).toMatchObject({ type: 'Error', message: 'failed with status code 500' });
    expect(Object.keys(done).slice(-4)).toEqual(['res', 'err', 'responseTime', 'msg']);
  });

  it('4xx completes at level warn', async () => {
    await request(server).get('/no/such/route').set('x-request-id', 'missing-1').expect(404);
    const done = await capture.waitFor((e) => e['req_id'] === 'missing-1' && e['res'] !== undefined);
    expect(done).toMatchObject({ level: 'warn', res: { statusCode: 404 }, msg: 'request completed' });
  });

  it('work outside a request (the worker) logs with the job correlation id via withCorrelation', async () => {
    const svc = app.get(StageService);
    await expect(svc.runJob('corr-job-77')).resolves.toBe('corr-job-77');
    const line = await capture.waitFor((e) => e['msg'] === 'stage started');
    expect(line).toMatchObject({ app: 'test-api', context: 'StageRunner', stage: 'parsing', correlation_id: 'corr-job-77' });
    expect(line).not.toHaveProperty('req_id');
    expect(line['job']).toEqual({ webhook_secret: REDACTED });
    expect(capture.text).not.toContain('whs_topsecret');
  });
});
