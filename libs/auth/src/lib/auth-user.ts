/** The authenticated caller, as `@CurrentUser()` gives it (also `req.user`). */
export interface AuthUser {
  /** The token's `sub`: the user's uuid. */
  userId: string;
  /** The token's `role` (Supabase: `authenticated`, `service_role`, ...). */
  role: string;
  email?: string;
}

/** A signature-valid token whose claims we still refuse; its message is sent to the client. */
export class TokenClaimsError extends Error {
  override readonly name = 'TokenClaimsError';
}

// RFC 9562 layout (versions 1-8, variant 10xx): rejects the nil uuid and other non-uuids.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * Checks the claims of a verified (signature, alg, aud, iss, exp, nbf) token: `sub` must be a uuid,
 * `exp` must be present, `role` (default `authenticated`) and `email` must be strings when present.
 */
export function userFromClaims(payload: unknown): AuthUser {
  if (typeof payload !== 'object' || payload === null)
    throw new TokenClaimsError('Token payload is not an object');
  const claims = payload as Record<string, unknown>;
  const { sub, exp, role, email } = claims;
  if (sub === undefined) throw new TokenClaimsError('Token has no subject (sub)');
  if (typeof sub !== 'string' || !UUID.test(sub))
    throw new TokenClaimsError('Token subject (sub) is not a uuid');
  if (typeof exp !== 'number') throw new TokenClaimsError('Token has no expiry (exp)');
  if (role !== undefined && typeof role !== 'string')
    throw new TokenClaimsError('Token role is not a string');
  if (email !== undefined && typeof email !== 'string')
    throw new TokenClaimsError('Token email is not a string');
  return { userId: sub.toLowerCase(), role: role ?? 'authenticated', ...(email ? { email } : {}) };
}
