import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applyHttpDefaults } from '@app/http';
import { PinoNestLogger, wantsPrettyLogs } from '@app/observability';
import type { ApiConfig } from './app.config';
import { AppModule } from './app.module';

/** Builds the api (used by main.ts and by the e2e tests), not yet listening. */
export async function createApiApp(config: ApiConfig): Promise<INestApplication> {
  const app = await NestFactory.create(
    AppModule.forRoot(config, { prettyLogs: wantsPrettyLogs(config.LOG_FORMAT, { isTTY: Boolean(process.stdout.isTTY), nodeEnv: config.NODE_ENV }) }),
    {
    bodyParser: false,
    rawBody: true, // webhooks verify the HMAC of the exact bytes
    bufferLogs: true,
  });
  // Uploads stream the request themselves: no raw parser that would buffer them.
  app.useLogger(app.get(PinoNestLogger));
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
