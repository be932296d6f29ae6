import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { JwtVerifier } from '@app/auth';
import { applyHttpDefaults } from '@app/http';
import {
  HttpMetricsMiddleware,
  LoggingModuleOptions,
  MetricsService,
  PinoNestLogger,
  REQUEST_LOGGING,
  RequestLoggingMiddleware,
  wantsPrettyLogs,
} from '@app/observability';
import type { ApiConfig } from './app.config';
import { AppModule } from './app.module';
import { UploadThrottleFilter } from './security/upload-throttle.filter';
import { UploadThrottleGuard } from './security/upload-throttle.guard';
import { JSON_BODY_LIMIT, UploadFastPath } from './uploads/upload-fast-path';
import { UploadsController } from './uploads/uploads.controller';

export interface CreateApiAppOptions {
  /** Where the JSON log lines go instead of stdout (tests capture them). */
  logDestination?: LoggingModuleOptions['destination'];
}

/** Builds the api (used by main.ts and by the e2e tests), not yet listening. */
export async function createApiApp(config: ApiConfig, options: CreateApiAppOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create(
    AppModule.forRoot(config, {
      prettyLogs: wantsPrettyLogs(config.LOG_FORMAT, { isTTY: Boolean(process.stdout.isTTY), nodeEnv: config.NODE_ENV }),
      logDestination: options.logDestination,
    }),
    {
    bodyParser: false,
    rawBody: true, // webhooks verify the HMAC of the exact bytes
    bufferLogs: true,
  });
  // Uploads stream the request themselves: no raw parser that would buffer them.
  app.useLogger(app.get(PinoNestLogger));
  // Security headers on every response (errors included). helmet's default CSP (script-src 'self',
  // style-src 'self' https: 'unsafe-inline', img-src 'self' data:) already fits Swagger UI at /docs,
  // whose scripts are files served from /docs. Only `upgrade-insecure-requests` goes: on a plain-http
  // deployment (compose, a LAN host) it would send the browser to https for /docs's own scripts.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  const metrics = app.get(MetricsService);
  const uploads = new UploadFastPath(
    app.get(JwtVerifier),
    app.get(UploadsController),
    app.get(UploadThrottleGuard),
    app.get(UploadThrottleFilter),
    app.get<symbol, RequestLoggingMiddleware>(REQUEST_LOGGING),
    metrics.options.httpMetrics === false ? undefined : new HttpMetricsMiddleware(metrics),
  );
  // the upload POST ahead of the router (decisions.md #33), with the parsers' body limit
  applyHttpDefaults(app, { bodyLimit: JSON_BODY_LIMIT, raw: false, beforeBodyParsers: [uploads.handle] });

  const doc = new DocumentBuilder()
    .setTitle('Ingest API')
    .setDescription('Upload documents; they are parsed, chunked and embedded for search.')
    .setVersion('2')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
