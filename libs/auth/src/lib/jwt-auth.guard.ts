import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokenClaimsError } from './auth-user';
import { bearerToken, JwtStrategy } from './jwt.strategy';
import { IS_PUBLIC_KEY } from './public.decorator';

/** A client-safe reason for a refused token, from the header and passport-jwt / jsonwebtoken's info. */
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
export class JwtAuthGuard extends AuthGuard() {
  constructor(
    private readonly reflector: Reflector,
    strategy: JwtStrategy,
  ) {
    super({ defaultStrategy: strategy.name, session: false, property: 'user' });
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    return super.canActivate(context) as Promise<boolean>;
  }

  override handleRequest<TUser>(
    err: unknown,
    user: unknown,
    info: unknown,
    context: ExecutionContext,
  ): TUser {
    if (err) throw err;
    if (user) return user as TUser;
    const http = context.switchToHttp();
    const authorization = http.getRequest<IncomingMessage>().headers.authorization;
    const message = describeAuthFailure(authorization, info);
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
}
