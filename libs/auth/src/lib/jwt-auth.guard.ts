import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthUser } from './auth-user';
import { TokenClaimsError } from './auth-user';
import { bearerToken, JwtVerifier } from './jwt.verifier';
import { IS_PUBLIC_KEY } from './public.decorator';

/** A client-safe reason for a refused token, from the header and jsonwebtoken's (or the claims') error. */
export function describeAuthFailure(authorization: string | undefined, info: unknown): string {
  if (!authorization) return 'Missing Authorization header';
  if (bearerToken(authorization) === null) return "Authorization header must be 'Bearer <token>'";
  if (info instanceof TokenClaimsError) return info.message;
  const { name, message } = (info ?? {}) as { name?: unknown; message?: unknown };
  if (name === 'TokenExpiredError') return 'Token has expired';
  if (name === 'NotBeforeError') return 'Token is not valid yet (nbf)';
  const m = typeof message === 'string' ? message : '';
  if (m === 'jwt signature is required') return 'Unsigned tokens (alg "none") are not accepted';
  if (m === 'invalid algorithm') return 'Token algorithm is not accepted; only HS256 is';
  if (m === 'invalid signature') return 'Token signature is invalid';
  if (m.startsWith('jwt audience invalid')) return 'Token audience is not accepted';
  if (m.startsWith('jwt issuer invalid')) return 'Token issuer is not accepted';
  if (m === 'jwt malformed' || m === 'invalid token' || name === 'SyntaxError') return 'Token is malformed';
  return 'Token is invalid';
}

/**
 * Requires a valid `Authorization: Bearer <HS256 JWT>` unless the route or controller is `@Public()`.
 * Sets `req.user` to the `AuthUser`; refusals are `UnauthorizedException`s with a clear message and a
 * `WWW-Authenticate: Bearer` header.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  /** `@Public()` of each handler (by its class): the metadata never changes once the app runs. */
  private readonly publicRoutes = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.isPublic(context)) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage & { user?: AuthUser }>();
    const authorization = req.headers.authorization;
    const token = bearerToken(authorization);
    let refused: unknown;
    if (token !== null) {
      const check = this.verifier.check(token);
      if ('user' in check) {
        req.user = check.user;
        return true;
      }
      refused = check.refused;
    }
    const message = describeAuthFailure(authorization, refused);
    http
      .getResponse<ServerResponse>()
      .setHeader(
        'WWW-Authenticate',
        authorization
          ? `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`
          : 'Bearer',
      );
    throw new UnauthorizedException(message);
  }

  private isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const cls = context.getClass();
    let byClass = this.publicRoutes.get(handler);
    if (!byClass) this.publicRoutes.set(handler, (byClass = new WeakMap()));
    let isPublic = byClass.get(cls);
    if (isPublic === undefined) {
      isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [handler, cls]) === true;
      byClass.set(cls, isPublic);
    }
    return isPublic;
  }
}
