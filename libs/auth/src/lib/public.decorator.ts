import { CustomDecorator, SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'app-auth:is-public';

/** Lets a route (or a whole controller) through `JwtAuthGuard` without a token. */
export const Public = (): CustomDecorator<string> => SetMetadata(IS_PUBLIC_KEY, true);
