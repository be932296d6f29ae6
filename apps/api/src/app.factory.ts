import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applyHttpDefaults } from '@app/http';
import type { ApiConfig } from './app.config';
import { AppModule } from './app.module';

const LEVELS: Record<string, LogLevel[]> = {
  silent: [],
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Builds the api (used by main.ts and by the e2e tests), not yet listening. */
export async function createApiApp(config: ApiConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), {
    bodyParser: false,
    rawBody: true, // webhooks verify the HMAC of the exact bytes
    logger: LEVELS[config.LOG_LEVEL] ?? LEVELS['info'],
  });
  // Uploads stream the request themselves: no raw parser that would buffer them.
  applyHttpDefaults(app, { bodyLimit: '1mb', raw: false });

  const doc = new DocumentBuilder()
    .setTitle('Ingest API')
    .setDescription('Upload documents; they are parsed, chunked and embedded for search.')
    .setVersion('2')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
