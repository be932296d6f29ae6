export * from './lib/auth.config';
export * from './lib/auth-user';
export * from './lib/auth.module';
export * from './lib/jwt-auth.guard';
export * from './lib/jwt.verifier';
export * from './lib/public.decorator';
export * from './lib/current-user.decorator';
export * from './lib/dev-token';
