import { Inject, Injectable } from '@nestjs/common';
import { createSecretKey, KeyObject } from 'node:crypto';
import { verify, VerifyOptions } from 'jsonwebtoken';
import { AUTH_OPTIONS, ResolvedAuthOptions } from './auth.config';
import { AuthUser, TokenClaimsError, userFromClaims } from './auth-user';

const BEARER = /^Bearer[ \t]+(\S+)$/i;

/** The token of an `Authorization: Bearer <token>` header (one token, nothing after it), else null. */
export function bearerToken(authorization: string | undefined): string | null {
  return BEARER.exec(authorization?.trim() ?? '')?.[1] ?? null;
}

/** A verified user, or why the token was refused (jsonwebtoken's error or a `TokenClaimsError`). */
export type TokenCheck = { user: AuthUser } | { refused: unknown };

/** Tokens whose verification is remembered (the oldest goes first): a token is 200 to 1,000 bytes. */
const VERIFIED_TOKENS = 10_000;

interface Verified {
  user: AuthUser;
  exp: number;
  nbf: number | undefined;
}

/**
 * Verifies HS256 tokens with this module's secret (audience, issuer when set, expiry and nbf with the clock
 * tolerance) and maps their claims to an `AuthUser`. Each AuthModule has its own, so two apps in one process
 * (tests) never share a secret.
 *
 * A client sends the same token with each request until it expires: a token verified once is remembered (by its exact
 * text, which its signature covers), and taken again without its HMAC and JSON work while its exp and nbf still let it
 * in, as jsonwebtoken checks them. Once they do not, it is verified afresh (and refused with jsonwebtoken's error).
 */
@Injectable()
export class JwtVerifier {
  // A KeyObject built once: given a string, jsonwebtoken would first try (and fail) to parse it as a public key
  // and then build a secret key, on every request.
  private readonly key: KeyObject;
  private readonly options: VerifyOptions;
  private readonly toleranceSec: number;
  private readonly verified = new Map<string, Verified>();

  constructor(@Inject(AUTH_OPTIONS) options: ResolvedAuthOptions) {
    this.key = createSecretKey(Buffer.from(options.jwtSecret, 'utf8'));
    this.options = {
      algorithms: ['HS256'],
      audience: options.audience,
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      clockTolerance: options.clockToleranceSec,
    };
    this.toleranceSec = options.clockToleranceSec;
  }

  check(token: string): TokenCheck {
    const known = this.verified.get(token);
    if (known) {
      // jsonwebtoken's clock: whole seconds; refused from exp + tolerance on, and while nbf > now + tolerance
      const now = Math.floor(Date.now() / 1000);
      if (now < known.exp + this.toleranceSec && (known.nbf === undefined || known.nbf <= now + this.toleranceSec)) return { user: { ...known.user } };
      this.verified.delete(token);
    }
    let payload: unknown;
    try {
      payload = verify(token, this.key, this.options);
    } catch (e) {
      // jsonwebtoken's errors, and a SyntaxError from a segment that is not JSON
      return { refused: e };
    }
    let user: AuthUser;
    try {
      user = userFromClaims(payload);
    } catch (e) {
      if (e instanceof TokenClaimsError) return { refused: e };
      throw e;
    }
    this.remember(token, user, payload as { exp: number; nbf?: unknown });
    return { user: { ...user } };
  }

  private remember(token: string, user: AuthUser, claims: { exp: number; nbf?: unknown }): void {
    // jsonwebtoken refused any nbf that is not a number
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
    if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { user, exp: claims.exp, nbf });
  }
}
