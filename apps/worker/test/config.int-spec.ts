import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

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

  it.each([
    ['api', { ...db, API_PORT: 'eighty' }, 'API_PORT'],
    ['api', { API_PORT: '8000' }, 'DATABASE_URL'],
    ['api', { ...db, JWT_SECRET: 'short' }, 'JWT_SECRET'],
    ['api', { ...db, NODE_ENV: 'production' }, 'JWT_SECRET'],
    ['worker', { ...db, WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'],
    ['worker', { ...db, OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    ['worker', { ...db, LEASE_MS: '2000', LEASE_RENEW_MS: '1500' }, 'LEASE_RENEW_MS'],
    ['mock-openai', { MOCK_OPENAI_PORT: '-1' }, 'MOCK_OPENAI_PORT'],
    ['mock-llamaparse', { MOCK_LLAMAPARSE_ERROR_RATE: '2' }, 'MOCK_LLAMAPARSE_ERROR_RATE'],
  ])('%s refuses %j naming %s', (app, env, variable) => {
    const r = run(app, env);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(variable);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('never prints a secret it refuses', () => {
    const r = run('api', { ...db, JWT_SECRET: 'short-secret-value' });
    expect(r.stderr).not.toContain('short-secret-value');
  });
});
