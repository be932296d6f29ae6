import {
  CanActivate,
  Controller,
  ExecutionContext,
  ForbiddenException,
  Get,
  INestApplication,
  Injectable,
  Logger,
  Module,
  Param,
  Post,
  SetMetadata,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import type { Server } from 'node:http';
import request from 'supertest';
import { BreakerRegistry } from '@app/circuit-breaker';
import { applyHttpDefaults } from '@app/http';
import { MetricsModule, MetricsService, PROMETHEUS_CONTENT_TYPE } from '../src';
import { parseSamples, sampleValue } from './prom-text';

const IS_OPEN = 'test:is-open';
/** Stands in for @app/auth's `@Public()` (type:util may not import a feature lib). */
const Open = (): ClassDecorator & MethodDecorator => SetMetadata(IS_OPEN, true);

/** Stands in for the api's global JWT guard: everything not marked open is refused. */
@Injectable()
class DenyUnlessOpenGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(ctx: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_OPEN, [ctx.getHandler(), ctx.getClass()])) return true;
    throw new ForbiddenException();
  }
}

@Controller('api/v2/jobs')
class JobsController {
  @Open()
  @Get(':id')
  get(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post(':id/retry')
  retry(): void {
    // never reached: the guard refuses it
  }
}

async function buildApp(app: string, guarded: boolean, decorators: ClassDecorator[] = []): Promise<INestApplication> {
  @Module({
    imports: [MetricsModule.forRoot({ app, controllerDecorators: decorators })],
    controllers: [JobsController],
    providers: guarded ? [{ provide: APP_GUARD, useClass: DenyUnlessOpenGuard }] : [],
  })
  class AppModule {}
  const nest = await NestFactory.create(AppModule, { logger: false });
  applyHttpDefaults(nest, { bodyLimit: '16kb' });
  await nest.init();
  return nest;
}

describe('MetricsModule (e2e)', () => {
  let alpha: INestApplication;
  let beta: INestApplication;
  let guardedNoDecorator: INestApplication;
  const server = (a: INestApplication): Server => a.getHttpServer() as Server;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    alpha = await buildApp('alpha', true, [Open()]);
    beta = await buildApp('beta', false);
    guardedNoDecorator = await buildApp('gamma', true);
  });

  afterAll(async () => {
    await Promise.all([alpha, beta, guardedNoDecorator].map((a) => a?.close()));
  });

  it('serves the Prometheus text format with route templates, unmatched routes and refused requests', async () => {
    await request(server(alpha)).get('/api/v2/jobs/123').expect(200);
    await request(server(alpha)).get('/api/v2/jobs/456').expect(200);
    await request(server(alpha)).get('/no/such/route/789').expect(404);
    await request(server(alpha)).post('/api/v2/jobs/321/retry').expect(403);

    const res = await request(server(alpha)).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    const text = res.text;
    const count = (labels: Record<string, string>) => sampleValue(text, 'http_request_duration_seconds_count', { app: 'alpha', ...labels });
    expect(count({ method: 'GET', route: '/api/v2/jobs/:id', status_code: '200' })).toBe(2);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(count({ method: 'POST', route: '/api/v2/jobs/:id/retry', status_code: '403' })).toBe(1);
    // never a raw path with ids: only templates as route labels
    const samples = parseSamples(text);
    const routes = new Set(samples.filter((s) => s.name.startsWith('http_request_duration_seconds')).map((s) => s.labels['route']));
    expect([...routes].sort()).toEqual(['/api/v2/jobs/:id', '/api/v2/jobs/:id/retry', 'unmatched']);
    expect(samples.flatMap((s) => Object.values(s.labels)).filter((v) => /123|456|789|321/.test(v))).toEqual([]);
    expect(text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^alpha_process_resident_memory_bytes\{app="alpha"\} \d+/m);
    // the pipeline metrics are declared
    for (const name of [
      'ingest_stage_duration_seconds',
      'ingest_transitions_total',
      'ingest_retries_total',
      'ingest_deadletters_total',
      'ingest_breaker_transitions_total',
      'ingest_embedding_tokens_total',
      'ingest_embedding_requests_total',
      'ingest_stage_pickup_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('two apps in one process keep separate registries', async () => {
    await request(server(beta)).get('/api/v2/jobs/1').expect(200);
    alpha.get(MetricsService).retry('parsing', 'timeout');

    const a = (await request(server(alpha)).get('/metrics').expect(200)).text;
    const b = (await request(server(beta)).get('/metrics').expect(200)).text;
    expect(sampleValue(b, 'http_request_duration_seconds_count', { route: '/api/v2/jobs/:id', status_code: '200' })).toBe(1);
    expect(sampleValue(a, 'http_request_duration_seconds_count', { route: '/api/v2/jobs/:id', status_code: '200' })).toBe(2);
    expect(sampleValue(a, 'ingest_retries_total', { stage: 'parsing', code: 'timeout' })).toBe(1);
    expect(sampleValue(b, 'ingest_retries_total', { stage: 'parsing', code: 'timeout' })).toBeUndefined();
    expect(b).not.toContain('app="alpha"');
    expect(b).toMatch(/^beta_process_cpu_user_seconds_total/m);
    // the scrape itself is measured, by its route
    expect(sampleValue(a, 'http_request_duration_seconds_count', { route: '/metrics', status_code: '200' })).toBeGreaterThanOrEqual(1);
  });

  it('job counts and breaker state are read at scrape time', async () => {
    const metrics = beta.get(MetricsService);
    let scrapes = 0;
    metrics.setJobCountsProvider(async () => {
      scrapes++;
      return [{ stage: 'embedding_queued', state: 'queued', count: 5 }];
    });
    const breakers = new BreakerRegistry({ services: { parser: {}, embedder: {} } });
    metrics.bindBreakers(breakers);
    const iso = breakers.get('parser').isolate();
    try {
      const text = (await request(server(beta)).get('/metrics').expect(200)).text;
      expect(scrapes).toBe(1);
      expect(sampleValue(text, 'ingest_jobs', { stage: 'embedding_queued', state: 'queued' })).toBe(5);
      expect(sampleValue(text, 'ingest_breaker_state', { service: 'parser' })).toBe(3);
      expect(sampleValue(text, 'ingest_breaker_state', { service: 'embedder' })).toBe(0);
      expect(sampleValue(text, 'ingest_breaker_transitions_total', { service: 'parser', state: 'isolated' })).toBe(1);
    } finally {
      iso.dispose();
    }
  });

  it('controllerDecorators let /metrics through a global guard; without them the guard refuses it', async () => {
    await request(server(alpha)).get('/metrics').expect(200);
    await request(server(guardedNoDecorator)).get('/metrics').expect(403);
  });
});
