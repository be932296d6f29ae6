import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { AuthModule, signDevToken } from '../src';
import type { ErrorBody } from '@app/http';
import { createAuthApp, TestApp } from './auth-test-app';
import { craftToken, nowSec, withPayload } from './craft-token';

const SECRET = 'test-secret-0123456789abcdef-0123456789';
const USER = '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c';
const OTHER_USER = '9b0c3f1c-2a4e-4b7d-8c1e-5d6e7f8a9a2b';

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSec();
  return { sub: USER, role: 'authenticated', aud: 'authenticated', iat, exp: iat + 3600, ...overrides };
}

function without(key: string): Record<string, unknown> {
  const c = claims();
  delete c[key];
  return c;
}

const hs256 = (payload: Record<string, unknown>, secret = SECRET): string =>
  craftToken(payload, { alg: 'HS256', secret });

describe('@app/auth e2e', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createAuthApp({ jwtSecret: SECRET });
  });

  afterAll(async () => {
    await t.app.close();
  });

  async function expectRefused(authorization: string | undefined, message: string | RegExp): Promise<void> {
    const req = request(t.server).get('/me');
    if (authorization !== undefined) req.set('Authorization', authorization);
    const res = await req.expect(401);
    const body = res.body as ErrorBody;
    expect(body.error.status).toBe(401);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(message);
    expect(typeof body.error.request_id).toBe('string');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  }

  describe('accepts', () => {
    it('a token from signDevToken and @CurrentUser() yields the user', async () => {
      const token = signDevToken({ secret: SECRET, sub: USER, email: 'u@example.com' });
      const res = await request(t.server).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body).toEqual({ userId: USER, role: 'authenticated', email: 'u@example.com' });
    });

    it('a hand-made HS256 token, a lowercase scheme, and another role', async () => {
      const token = hs256(claims({ role: 'service_role' }));
      const res = await request(t.server).get('/me').set('Authorization', `bearer ${token}`).expect(200);
      expect(res.body).toEqual({ userId: USER, role: 'service_role' });
    });

    it('a class-level guard protects every route but @Public() ones', async () => {
      await request(t.server).get('/docs/open').expect(200, { open: true });
      await request(t.server).get('/docs').expect(401);
      const token = signDevToken({ secret: SECRET, sub: OTHER_USER });
      await request(t.server)
        .get('/docs')
        .set('Authorization', `Bearer ${token}`)
        .expect(200, { owner: OTHER_USER });
    });

    it('without a guard @CurrentUser() refuses rather than yield nothing', async () => {
      const res = await request(t.server).get('/plain').expect(401);
      expect((res.body as ErrorBody).error.message).toBe('Not authenticated');
    });
  });

  describe('refuses with 401', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const good = (): string => hs256(claims());

    it.each<[string, () => string | undefined, RegExp]>([
      ['a missing Authorization header', () => undefined, /^Missing Authorization header$/],
      ['a Basic scheme', () => 'Basic dXNlcjpwYXNz', /Bearer <token>/],
      ['a Bearer scheme without token', () => 'Bearer', /Bearer <token>/],
      ['a token with extra parts', () => `Bearer ${good()} extra`, /Bearer <token>/],
      ['a token that is not a JWT', () => 'Bearer not-a-jwt', /malformed/],
      ['a JWT with garbage segments', () => 'Bearer a.b.c', /malformed/],
      ['alg none without signature', () => `Bearer ${craftToken(claims(), { alg: 'none' })}`, /alg "none"/],
      [
        'alg none carrying a signature',
        () => `Bearer ${craftToken(claims(), { alg: 'none' })}${good().split('.')[2]}`,
        /only HS256/,
      ],
      [
        'HS512 with the right secret',
        () => `Bearer ${craftToken(claims(), { alg: 'HS512', secret: SECRET })}`,
        /only HS256/,
      ],
      ['RS256', () => `Bearer ${craftToken(claims(), { alg: 'RS256', privateKey })}`, /only HS256/],
      ['the wrong key', () => `Bearer ${hs256(claims(), `${SECRET}-other`)}`, /signature is invalid/],
      [
        'a tampered payload',
        () => `Bearer ${withPayload(good(), claims({ sub: OTHER_USER }))}`,
        /signature is invalid/,
      ],
      ['an expired token', () => `Bearer ${hs256(claims({ exp: nowSec() - 60 }))}`, /expired/],
      [
        'a token not valid yet (nbf)',
        () => `Bearer ${hs256(claims({ nbf: nowSec() + 120 }))}`,
        /not valid yet/,
      ],
      ['the wrong audience', () => `Bearer ${hs256(claims({ aud: 'anon' }))}`, /audience/],
      ['no audience', () => `Bearer ${hs256(without('aud'))}`, /audience/],
      ['a missing sub', () => `Bearer ${hs256(without('sub'))}`, /no subject/],
      ['a non-uuid sub', () => `Bearer ${hs256(claims({ sub: 'user-1' }))}`, /not a uuid/],
      [
        'the nil uuid as sub',
        () => `Bearer ${hs256(claims({ sub: '00000000-0000-0000-0000-000000000000' }))}`,
        /not a uuid/,
      ],
      ['a numeric sub', () => `Bearer ${hs256(claims({ sub: 42 }))}`, /not a uuid/],
      ['a missing exp', () => `Bearer ${hs256(without('exp'))}`, /no expiry/],
      ['a non-string role', () => `Bearer ${hs256(claims({ role: ['admin'] }))}`, /role/],
      [
        'a signDevToken token for another secret',
        () => `Bearer ${signDevToken({ secret: 'x'.repeat(40), sub: USER })}`,
        /signature/,
      ],
      [
        'an expired signDevToken token',
        () => `Bearer ${signDevToken({ secret: SECRET, sub: USER, expiresInSec: -5 })}`,
        /expired/,
      ],
    ])('%s', async (_name, header, message) => {
      await expectRefused(header(), message);
    });

    it('names the problem in WWW-Authenticate for a bad token', async () => {
      const res = await request(t.server).get('/me').set('Authorization', 'Bearer not-a-jwt').expect(401);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer error="invalid_token", error_description="Token is malformed"',
      );
    });
  });

  describe('options', () => {
    it('issuer, audience and clock tolerance are honoured', async () => {
      const iss = 'https://issuer.test/auth/v1';
      const o = await createAuthApp({
        jwtSecret: SECRET,
        audience: 'api',
        issuer: iss,
        clockToleranceSec: 30,
      });
      try {
        const get = (payload: Record<string, unknown>) =>
          request(o.server)
            .get('/me')
            .set('Authorization', `Bearer ${hs256(payload)}`);
        await get(claims({ aud: 'api', iss })).expect(200);
        await get(claims({ aud: 'api', iss, exp: nowSec() - 10 })).expect(200);
        await get(claims({ aud: 'api', iss, nbf: nowSec() + 10 })).expect(200);
        expect(
          (await get(claims({ aud: 'api', iss, exp: nowSec() - 60 })).expect(401)).body.error.message,
        ).toMatch(/expired/);
        expect(
          (await get(claims({ aud: 'api', iss: 'https://evil.test' })).expect(401)).body.error.message,
        ).toMatch(/issuer/);
        expect((await get(claims({ aud: 'api' })).expect(401)).body.error.message).toMatch(/issuer/);
        expect((await get(claims({ iss })).expect(401)).body.error.message).toMatch(/audience/);
      } finally {
        await o.app.close();
      }
    });

    it('two apps with different secrets in one process stay independent', async () => {
      const secretB = 'second-secret-0123456789abcdef-01234';
      const b = await createAuthApp({ jwtSecret: secretB });
      try {
        const tokenA = signDevToken({ secret: SECRET, sub: USER });
        const tokenB = signDevToken({ secret: secretB, sub: USER });
        await request(t.server).get('/me').set('Authorization', `Bearer ${tokenA}`).expect(200);
        await request(t.server).get('/me').set('Authorization', `Bearer ${tokenB}`).expect(401);
        await request(b.server).get('/me').set('Authorization', `Bearer ${tokenB}`).expect(200);
        await request(b.server).get('/me').set('Authorization', `Bearer ${tokenA}`).expect(401);
      } finally {
        await b.app.close();
      }
      await request(t.server)
        .get('/me')
        .set('Authorization', `Bearer ${signDevToken({ secret: SECRET, sub: USER })}`)
        .expect(200);
    });

    it('globalGuard guards every route; @Public() opts out', async () => {
      const g = await createAuthApp({ jwtSecret: SECRET, globalGuard: true });
      try {
        await request(g.server).get('/plain/public').expect(200, { open: true });
        const res = await request(g.server).get('/plain').expect(401);
        expect((res.body as ErrorBody).error.message).toBe('Missing Authorization header');
        const token = signDevToken({ secret: SECRET, sub: USER });
        await request(g.server)
          .get('/plain')
          .set('Authorization', `Bearer ${token}`)
          .expect(200, { owner: USER });
      } finally {
        await g.app.close();
      }
    });

    it('forRoot refuses an empty secret or a negative tolerance', () => {
      expect(() => AuthModule.forRoot({ jwtSecret: '' })).toThrow(/jwtSecret/);
      expect(() => AuthModule.forRoot({ jwtSecret: SECRET, clockToleranceSec: -1 })).toThrow(
        /clockToleranceSec/,
      );
    });
  });
});
