import { TokenClaimsError, userFromClaims } from './auth-user';

const SUB = '3F1C2A4E-8B7D-4C1E-9A2B-5D6E7F8A9B0C';

describe('userFromClaims', () => {
  it('maps sub/role/email and normalises the uuid to lower case', () => {
    expect(userFromClaims({ sub: SUB, role: 'service_role', email: 'a@b.c', exp: 1 })).toEqual({
      userId: SUB.toLowerCase(),
      role: 'service_role',
      email: 'a@b.c',
    });
  });

  it('defaults a missing role to authenticated and omits a missing email', () => {
    expect(userFromClaims({ sub: SUB, exp: 1 })).toEqual({
      userId: SUB.toLowerCase(),
      role: 'authenticated',
    });
  });

  it.each([
    [null, /not an object/],
    ['string', /not an object/],
    [{ exp: 1 }, /no subject/],
    [{ sub: '', exp: 1 }, /not a uuid/],
    [{ sub: `${SUB}0`, exp: 1 }, /not a uuid/],
    [{ sub: '3f1c2a4e-8b7d-9c1e-9a2b-5d6e7f8a9b0c', exp: 1 }, /not a uuid/],
    [{ sub: SUB }, /no expiry/],
    [{ sub: SUB, exp: '1' }, /no expiry/],
    [{ sub: SUB, exp: 1, role: 7 }, /role/],
    [{ sub: SUB, exp: 1, email: {} }, /email/],
  ])('refuses %p', (payload, message) => {
    expect(() => userFromClaims(payload)).toThrow(TokenClaimsError);
    expect(() => userFromClaims(payload)).toThrow(message);
  });
});
