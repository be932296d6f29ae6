import { createHmac } from 'node:crypto';
import { signDevToken } from './dev-token';

function decode(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('signDevToken', () => {
  const sub = '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c';

  it('signs HS256 with Supabase-style default claims', () => {
    const token = signDevToken({ secret: 's3cret', sub, nowSec: 1_000 });
    const [header, payload, signature] = token.split('.');
    expect(decode(header)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decode(payload)).toEqual({
      sub,
      role: 'authenticated',
      aud: 'authenticated',
      iat: 1_000,
      exp: 4_600,
    });
    expect(signature).toBe(createHmac('sha256', 's3cret').update(`${header}.${payload}`).digest('base64url'));
  });

  it('takes role, aud, ttl, email and iss', () => {
    const token = signDevToken({
      secret: 's',
      sub,
      role: 'service_role',
      aud: 'api',
      expiresInSec: 60,
      email: 'a@b.c',
      iss: 'https://issuer.test',
      nowSec: 10,
    });
    expect(decode(token.split('.')[1])).toEqual({
      sub,
      role: 'service_role',
      aud: 'api',
      iat: 10,
      exp: 70,
      email: 'a@b.c',
      iss: 'https://issuer.test',
    });
  });
});
