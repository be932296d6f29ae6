import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { assertConsistent, isPublicHost, productionWebhookUrlProblem, WorkerConfig } from '../src/app.config';

const ROOT = resolve(__dirname, '../../..');

/** Starts a built app with the given environment and returns how it ended (it must not get far). */
function run(app: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/apps', app, 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr };
}

describe('config is validated before an app starts, naming the bad variable', () => {
  const db = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
  const CLOUD = 'https://api.cloud.llamaindex.ai';

  it.each([
    ['api', { ...db, API_PORT: 'eighty' }, 'API_PORT'],
    ['api', { API_PORT: '8000' }, 'DATABASE_URL'],
    ['api', { ...db, JWT_SECRET: 'short' }, 'JWT_SECRET'],
    ['api', { ...db, NODE_ENV: 'production' }, 'JWT_SECRET'],
    ['worker', { ...db, WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'],
    ['worker', { ...db, OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    ['worker', { ...db, LEASE_MS: '2000', LEASE_RENEW_MS: '1500' }, 'LEASE_RENEW_MS'],
    ['worker', { ...db, PARSER_API_VERSION: 'v3' }, 'PARSER_API_VERSION'],
    ['worker', { ...db, LLAMAPARSE_TIER: 'premium' }, 'LLAMAPARSE_TIER'],
    ['worker', { ...db, LLAMAPARSE_LANGUAGE: 'english please' }, 'LLAMAPARSE_LANGUAGE'],
    // LlamaParse calls only https URLs with a host name: refused in production with the real (public) parser,
    // allowed in development and with a parser on the internal network (the mock)
    ['worker', { ...db, NODE_ENV: 'production', LLAMAPARSE_BASE_URL: CLOUD, WEBHOOK_BASE_URL: 'http://ingest.example.com' }, 'WEBHOOK_BASE_URL'],
    ['worker', { ...db, NODE_ENV: 'production', LLAMAPARSE_BASE_URL: CLOUD, WEBHOOK_BASE_URL: 'https://127.0.0.1:8000' }, 'WEBHOOK_BASE_URL'],
    ['worker', { ...db, NODE_ENV: 'production', LLAMAPARSE_BASE_URL: CLOUD, WEBHOOK_BASE_URL: 'https://localhost' }, 'WEBHOOK_BASE_URL'],
    ['worker', { ...db, NODE_ENV: 'production', LLAMAPARSE_BASE_URL: CLOUD, WEBHOOK_BASE_URL: 'https://api:8000' }, 'WEBHOOK_BASE_URL'],
    ['mock-openai', { MOCK_OPENAI_PORT: '-1' }, 'MOCK_OPENAI_PORT'],
    ['mock-llamaparse', { MOCK_LLAMAPARSE_ERROR_RATE: '2' }, 'MOCK_LLAMAPARSE_ERROR_RATE'],
  ])('%s refuses %j naming %s', (app, env, variable) => {
    const r = run(app, env);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(variable);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('the production webhook URL check: https and a public host name', () => {
    for (const ok of ['https://ingest.example.com', 'https://ingest.example.com:8443/base', 'https://api.internal.example'])
      expect(productionWebhookUrlProblem(ok)).toBeUndefined();
    expect(productionWebhookUrlProblem('http://ingest.example.com')).toBe('it is not https');
    expect(productionWebhookUrlProblem('https://10.0.0.5')).toBe('its host is an IP address');
    expect(productionWebhookUrlProblem('https://[::1]:8000')).toBe('its host is an IP address');
    expect(productionWebhookUrlProblem('https://localhost:8000')).toBe('its host is localhost');
    expect(productionWebhookUrlProblem('https://api:8000')).toBe('its host is not a public host name');
  });

  it('the webhook URL check applies to a parser out there only: the mock on the internal network may call http://api', () => {
    expect(isPublicHost(CLOUD)).toBe(true);
    for (const local of ['http://127.0.0.1:8001', 'http://mock-llamaparse:8001', 'http://localhost:8001']) expect(isPublicHost(local)).toBe(false);
    const config = (over: Partial<WorkerConfig>) => Object.assign(new WorkerConfig(), { NODE_ENV: 'production', WEBHOOK_BASE_URL: 'http://api:8000', ...over });
    // docker-compose and the benchmark in production mode, with the mock: allowed
    expect(() => assertConsistent(config({ LLAMAPARSE_BASE_URL: 'http://mock-llamaparse:8001' }))).not.toThrow();
    // the real service cannot call http://api:8000
    expect(() => assertConsistent(config({ LLAMAPARSE_BASE_URL: CLOUD }))).toThrow(/WEBHOOK_BASE_URL/);
    expect(() => assertConsistent(config({ LLAMAPARSE_BASE_URL: CLOUD, WEBHOOK_BASE_URL: 'https://ingest.example.com' }))).not.toThrow();
  });

  it('never prints a secret it refuses', () => {
    const r = run('api', { ...db, JWT_SECRET: 'short-secret-value' });
    expect(r.stderr).not.toContain('short-secret-value');
  });
});
