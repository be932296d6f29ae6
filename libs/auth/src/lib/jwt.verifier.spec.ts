import { sign } from 'jsonwebtoken';
import { resolveAuthOptions } from './auth.config';
import { signDevToken } from './dev-token';
import { describeAuthFailure } from './jwt-auth.guard';
import { JwtVerifier } from './jwt.verifier';

const SECRET = 'verifier-secret-0123456789abcdef-0123';
const SUB = '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c';
const T0 = 1_900_000_000;

const refusal = (v: JwtVerifier, token: string) => {
  const r = v.check(token);
  return 'refused' in r ? describeAuthFailure(`Bearer ${token}`, r.refused) : 'accepted';
};

describe('JwtVerifier', () => {
  beforeEach(() => jest.useFakeTimers({ now: T0 * 1000 }));
  afterEach(() => jest.useRealTimers());

  it('a token it verified before is refused once it expires, and is still refused after', () => {
    const v = new JwtVerifier(resolveAuthOptions({ jwtSecret: SECRET }));
    const token = signDevToken({ secret: SECRET, sub: SUB, nowSec: T0, expiresInSec: 60 });
    expect(v.check(token)).toEqual({ user: { userId: SUB, role: 'authenticated' } });
    jest.setSystemTime((T0 + 59) * 1000 + 999);
    expect(v.check(token)).toEqual({ user: { userId: SUB, role: 'authenticated' } });
    jest.setSystemTime((T0 + 60) * 1000);
    expect(refusal(v, token)).toBe('Token has expired');
    expect(refusal(v, token)).toBe('Token has expired');
  });

  it('honours the clock tolerance on expiry as jsonwebtoken does', () => {
    const v = new JwtVerifier(resolveAuthOptions({ jwtSecret: SECRET, clockToleranceSec: 30 }));
    const token = signDevToken({ secret: SECRET, sub: SUB, nowSec: T0, expiresInSec: 60 });
    expect(v.check(token)).toHaveProperty('user');
    jest.setSystemTime((T0 + 89) * 1000);
    expect(v.check(token)).toHaveProperty('user');
    jest.setSystemTime((T0 + 90) * 1000);
    expect(refusal(v, token)).toBe('Token has expired');
  });

  it('a token with nbf is refused before it (with the tolerance), accepted from then on, also when remembered', () => {
    const v = new JwtVerifier(resolveAuthOptions({ jwtSecret: SECRET, clockToleranceSec: 5 }));
    const token = sign({ sub: SUB, aud: 'authenticated', iat: T0, nbf: T0 + 60, exp: T0 + 600 }, SECRET, { algorithm: 'HS256' });
    expect(refusal(v, token)).toBe('Token is not valid yet (nbf)');
    jest.setSystemTime((T0 + 55) * 1000);
    expect(v.check(token)).toHaveProperty('user');
    // the clock set back: refused again, not taken from memory
    jest.setSystemTime((T0 + 54) * 1000);
    expect(refusal(v, token)).toBe('Token is not valid yet (nbf)');
  });

  it('each answer is a user of its own; another secret never accepts it', () => {
    const v = new JwtVerifier(resolveAuthOptions({ jwtSecret: SECRET }));
    const token = signDevToken({ secret: SECRET, sub: SUB, nowSec: T0, email: 'a@b.c' });
    const first = v.check(token) as { user: { role: string } };
    first.user.role = 'changed';
    expect(v.check(token)).toEqual({ user: { userId: SUB, role: 'authenticated', email: 'a@b.c' } });
    expect(refusal(new JwtVerifier(resolveAuthOptions({ jwtSecret: `${SECRET}-other` })), token)).toBe('Token signature is invalid');
  });
});
