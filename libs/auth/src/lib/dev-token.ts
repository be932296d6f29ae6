import { JwtService } from '@nestjs/jwt';

export interface DevTokenOptions {
  secret: string;
  /** The user's uuid. */
  sub: string;
  role?: string;
  aud?: string;
  /** Lifetime in seconds from `nowSec`; negative values give an already expired token. Default 3600. */
  expiresInSec?: number;
  email?: string;
  iss?: string;
  /** Issue time (unix seconds). Default: now. */
  nowSec?: number;
}

/** Signs an HS256 token with Supabase-style claims (`sub, role, aud, iat, exp, email?, iss?`), for tests and tools. */
export function signDevToken(o: DevTokenOptions): string {
  const iat = o.nowSec ?? Math.floor(Date.now() / 1000);
  const payload = {
    sub: o.sub,
    role: o.role ?? 'authenticated',
    aud: o.aud ?? 'authenticated',
    iat,
    exp: iat + (o.expiresInSec ?? 3600),
    ...(o.email === undefined ? {} : { email: o.email }),
    ...(o.iss === undefined ? {} : { iss: o.iss }),
  };
  return new JwtService().sign(payload, { secret: o.secret, algorithm: 'HS256' });
}
