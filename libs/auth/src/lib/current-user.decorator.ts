import { createParamDecorator, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { AuthUser } from './auth-user';

/** The authenticated caller (`{ userId, role, email? }`) set by `JwtAuthGuard`; 401 when there is none. */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthUser => {
  const user = ctx.switchToHttp().getRequest<{ user?: AuthUser }>().user;
  if (!user) throw new UnauthorizedException('Not authenticated');
  return user;
});
