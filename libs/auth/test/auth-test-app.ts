import { Controller, Get, INestApplication, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import { applyHttpDefaults } from '@app/http';
import { AuthModule, AuthOptions, AuthUser, CurrentUser, JwtAuthGuard, Public } from '../src';

@Controller()
export class MeController {
  @UseGuards(JwtAuthGuard)
  @Get('me')
  me(@CurrentUser() user: AuthUser): AuthUser {
    return user;
  }
}

@UseGuards(JwtAuthGuard)
@Controller('docs')
export class DocsController {
  @Get()
  list(@CurrentUser() user: AuthUser): { owner: string } {
    return { owner: user.userId };
  }

  @Public()
  @Get('open')
  open(): { open: boolean } {
    return { open: true };
  }
}

/** Not guarded by itself: only a global guard (`globalGuard: true`) protects it. */
@Controller('plain')
export class PlainController {
  @Get()
  plain(@CurrentUser() user: AuthUser): { owner: string } {
    return { owner: user.userId };
  }

  @Public()
  @Get('public')
  open(): { open: boolean } {
    return { open: true };
  }
}

export interface TestApp {
  app: INestApplication;
  server: Server;
}

/** A tiny Nest app with AuthModule and our HTTP defaults (error shape, request ids). */
export async function createAuthApp(options: AuthOptions): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [AuthModule.forRoot(options)],
    controllers: [MeController, DocsController, PlainController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  applyHttpDefaults(app, { bodyLimit: '100kb' });
  await app.init();
  return { app, server: app.getHttpServer() as Server };
}
