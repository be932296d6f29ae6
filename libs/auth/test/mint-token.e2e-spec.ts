import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { createAuthApp, TestApp } from './auth-test-app';
import { nowSec } from './craft-token';

const run = promisify(execFile);
const WORKSPACE_ROOT = resolve(__dirname, '../../..');
const SCRIPT = resolve(WORKSPACE_ROOT, 'tools/dev/mint-token.mjs');
const DEV_SECRET = 'dev-secret-change-me-0123456789abcdef';
const DEV_USER = '00000000-0000-4000-8000-000000000001';
const USER = '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c';

function envWith(jwtSecret?: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['JWT_SECRET'];
  if (jwtSecret !== undefined) env['JWT_SECRET'] = jwtSecret;
  return env;
}

async function mint(args: string[], env = envWith()): Promise<string> {
  const { stdout } = await run(process.execPath, [SCRIPT, ...args], { env, timeout: 15_000 });
  return stdout;
}

describe('tools/dev/mint-token.mjs', () => {
  let dev: TestApp;

  beforeAll(async () => {
    dev = await createAuthApp({ jwtSecret: DEV_SECRET });
  });

  afterAll(async () => {
    await dev.app.close();
  });

  const me = (server: TestApp['server'], token: string) =>
    request(server).get('/me').set('Authorization', `Bearer ${token}`);

  it('with no arguments prints a dev-user token the auth module accepts with the development secret', async () => {
    const out = await mint([]);
    expect(out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const res = await me(dev.server, out.trim()).expect(200);
    expect(res.body).toEqual({ userId: DEV_USER, role: 'authenticated' });
  });

  it('--json --sub --email --ttl gives {token, sub, exp} with those claims', async () => {
    const before = nowSec();
    const out = JSON.parse(
      await mint(['--json', '--sub', USER, '--email', 'dev@example.com', '--ttl', '120']),
    ) as {
      token: string;
      sub: string;
      exp: number;
    };
    expect(Object.keys(out).sort()).toEqual(['exp', 'sub', 'token']);
    expect(out.sub).toBe(USER);
    expect(out.exp).toBeGreaterThanOrEqual(before + 120);
    expect(out.exp).toBeLessThanOrEqual(nowSec() + 120);
    const res = await me(dev.server, out.token).expect(200);
    expect(res.body).toEqual({ userId: USER, role: 'authenticated', email: 'dev@example.com' });
  });

  it('takes the secret from JWT_SECRET, and --secret over it', async () => {
    const custom = 'custom-secret-0123456789abcdef-0123';
    const other = await createAuthApp({ jwtSecret: custom });
    try {
      const fromEnv = (await mint([], envWith(custom))).trim();
      await me(other.server, fromEnv).expect(200);
      const refused = await me(dev.server, fromEnv).expect(401);
      expect(refused.body.error.message).toMatch(/signature/);

      const fromFlag = (await mint(['--secret', DEV_SECRET], envWith(custom))).trim();
      await me(dev.server, fromFlag).expect(200);
      await me(other.server, fromFlag).expect(401);
    } finally {
      await other.app.close();
    }
  });

  it('exits 2 on a non-uuid --sub, a bad --ttl or an unknown option', async () => {
    for (const args of [['--sub', 'user-1'], ['--ttl', '-5'], ['--ttl', 'soon'], ['--nope']]) {
      await expect(mint(args)).rejects.toMatchObject({ code: 2, stdout: '' });
    }
  });
});
