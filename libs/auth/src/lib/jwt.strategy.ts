import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import passport from 'passport';
import { createSecretKey } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Strategy as PassportJwtStrategy, VerifiedCallback } from 'passport-jwt';
import { AUTH_OPTIONS, ResolvedAuthOptions } from './auth.config';
import { TokenClaimsError, userFromClaims } from './auth-user';

let instances = 0;

const BEARER = /^Bearer[ \t]+(\S+)$/i;

/** The token of an `Authorization: Bearer <token>` header (one token, nothing after it), else null. */
export function bearerToken(authorization: string | undefined): string | null {
  return BEARER.exec(authorization?.trim() ?? '')?.[1] ?? null;
}

/**
 * Registers a passport-jwt strategy (HS256 only, audience/issuer/expiry checked) under a name unique
 * to this module instance, so two apps in one process (tests) never share each other's secret.
 */
@Injectable()
export class JwtStrategy implements OnModuleDestroy {
  readonly name = `app-auth-jwt-${++instances}`;

  constructor(@Inject(AUTH_OPTIONS) options: ResolvedAuthOptions) {
    const strategy = new PassportJwtStrategy(
      {
        jwtFromRequest: (req: IncomingMessage) => bearerToken(req.headers.authorization),
        // A KeyObject built once: given a string, jsonwebtoken would first try (and fail) to parse it
        // as a public key and then build a secret key, on every request (17% of the api's CPU).
        secretOrKey: createSecretKey(Buffer.from(options.jwtSecret, 'utf8')) as unknown as string,
        algorithms: ['HS256'],
        audience: options.audience,
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        jsonWebTokenOptions: { clockTolerance: options.clockToleranceSec },
      },
      (payload: unknown, done: VerifiedCallback) => {
        try {
          done(null, userFromClaims(payload));
        } catch (e) {
          if (e instanceof TokenClaimsError) done(null, false, e);
          else done(e);
        }
      },
    );
    passport.use(this.name, strategy);
  }

  onModuleDestroy(): void {
    passport.unuse(this.name);
  }
}
