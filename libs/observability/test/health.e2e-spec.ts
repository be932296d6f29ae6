import { Controller, Get, INestApplication, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { Server } from 'node:http';
import request from 'supertest';
import { BreakerRegistry } from '@app/circuit-breaker';
import { BreakersHealthIndicator, DatabaseHealthIndicator, HeartbeatHealthIndicator, QueryableDatabase } from '../src';

/**
 * The indicators inside a real terminus controller (the way apps use them): the 503 body names the
 * failing part. The database is a fake exposing `query()`: this lib (type:util) may not use
 * @app/database / @app/testing; the apps' e2e tests run the indicator against PostgreSQL.
 */
const DATA_SOURCE = Symbol('DATA_SOURCE');

const state = {
  dbFails: false,
  pending: [] as string[],
  lastBeat: new Date() as Date | null,
};

const fakeDb: QueryableDatabase = {
  query: async () => {
    if (state.dbFails) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return [{ '?column?': 1 }];
  },
};

const breakers = new BreakerRegistry({ services: { parser: {}, embedder: {} } });

@Controller('health')
class HealthController {
  private readonly heartbeat = new HeartbeatHealthIndicator({ lastBeat: () => state.lastBeat, maxSilenceMs: 5_000 });
  private readonly breakers = new BreakersHealthIndicator(breakers);

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: DatabaseHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.db.check('database'), () => this.breakers.check('breakers'), () => this.heartbeat.check('worker_loop')]);
  }
}

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [
    { provide: DATA_SOURCE, useValue: fakeDb },
    DatabaseHealthIndicator.provider({ inject: DATA_SOURCE, timeoutMs: 500, pendingMigrations: async () => state.pending }),
  ],
})
class AppModule {}

describe('health indicators behind terminus (e2e)', () => {
  let app: INestApplication;
  let server: Server;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    server = app.getHttpServer() as Server;
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => {
    state.dbFails = false;
    state.pending = [];
    state.lastBeat = new Date();
  });

  it('200 when everything is up', async () => {
    const res = await request(server).get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(Object.keys(res.body.info).sort()).toEqual(['breakers', 'database', 'database_migrations', 'worker_loop']);
  });

  it('503 naming pending migrations', async () => {
    state.pending = ['1732400000000-add-search-index'];
    const res = await request(server).get('/health/ready').expect(503);
    expect(res.body.status).toBe('error');
    expect(Object.keys(res.body.error)).toEqual(['database_migrations']);
    expect(res.body.error.database_migrations).toMatchObject({ status: 'down', pending: ['1732400000000-add-search-index'] });
  });

  it('503 naming the database, an open breaker and a silent loop', async () => {
    state.dbFails = true;
    state.lastBeat = new Date(Date.now() - 60_000);
    const iso = breakers.get('embedder').isolate();
    try {
      const res = await request(server).get('/health/ready').expect(503);
      expect(Object.keys(res.body.error).sort()).toEqual(['breakers', 'database', 'worker_loop']);
      expect(res.body.error.database).toEqual({ status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:5432' });
      expect(res.body.error.breakers).toMatchObject({ status: 'down', open: ['embedder'] });
      expect(res.body.error.worker_loop.message).toMatch(/^no heartbeat for \d+ ms \(limit 5000 ms\)$/);
    } finally {
      iso.dispose();
    }
  });
});
