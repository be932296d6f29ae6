import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AUTH_OPTIONS, AuthOptions, resolveAuthOptions } from './auth.config';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtVerifier } from './jwt.verifier';

/**
 * JWT (HS256, Supabase-compatible claims) authentication. Global once imported: use
 * `@UseGuards(JwtAuthGuard)` anywhere, or `globalGuard: true` to guard every route (`@Public()` opts out).
 */
@Module({})
export class AuthModule {
  static forRoot(options: AuthOptions): DynamicModule {
    const resolved = resolveAuthOptions(options);
    const providers: Provider[] = [{ provide: AUTH_OPTIONS, useValue: resolved }, JwtVerifier, JwtAuthGuard];
    if (resolved.globalGuard) providers.push({ provide: APP_GUARD, useExisting: JwtAuthGuard });
    return {
      module: AuthModule,
      global: true,
      providers,
      exports: [AUTH_OPTIONS, JwtVerifier, JwtAuthGuard],
    };
  }
}
