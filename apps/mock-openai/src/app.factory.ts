import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig } from './app.config';
import { AppModule } from './app.module';
import { installHttpPipeline } from './common/http-pipeline';

export interface CreateAppOptions {
  /** Nest logger levels, or false for silence (tests). */
  logger?: LogLevel[] | false;
}

/** Builds and initialises the mock-openai app (not listening yet); used by main.ts and the tests. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: options.logger ?? ['log', 'warn', 'error'],
  });
  app.disable('x-powered-by');
  app.set('etag', false); // hashing multi-megabyte embedding responses buys nothing
  installHttpPipeline(app, config.MOCK_OPENAI_BODY_LIMIT);
  await app.init();
  return app;
}
