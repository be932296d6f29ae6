/** Options of `AuthModule.forRoot()`. */
export interface AuthOptions {
  /** HS256 shared secret (the api's `JWT_SECRET`; Supabase's "JWT secret"). */
  jwtSecret: string;
  /** Required `aud` claim. Default `'authenticated'` (Supabase's signed-in users). */
  audience?: string;
  /** Required `iss` claim when set (e.g. `https://<project>.supabase.co/auth/v1`). Default: not checked. */
  issuer?: string;
  /** Seconds of clock skew allowed on `exp` / `nbf`. Default 0. */
  clockToleranceSec?: number;
  /** Also register `JwtAuthGuard` as a global guard (APP_GUARD); opt routes out with `@Public()`. Default false. */
  globalGuard?: boolean;
}

export type ResolvedAuthOptions = Required<Omit<AuthOptions, 'issuer'>> & Pick<AuthOptions, 'issuer'>;

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

export function resolveAuthOptions(options: AuthOptions): ResolvedAuthOptions {
  if (typeof options.jwtSecret !== 'string' || options.jwtSecret === '')
    throw new Error('AuthModule: jwtSecret must be a non-empty string');
  const clockToleranceSec = options.clockToleranceSec ?? 0;
  if (!Number.isFinite(clockToleranceSec) || clockToleranceSec < 0)
    throw new Error('AuthModule: clockToleranceSec must be a non-negative number');
  return {
    jwtSecret: options.jwtSecret,
    audience: options.audience ?? 'authenticated',
    issuer: options.issuer,
    clockToleranceSec,
    globalGuard: options.globalGuard ?? false,
  };
}
