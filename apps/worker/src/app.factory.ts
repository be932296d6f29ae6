import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { applyHttpDefaults } from '@app/http';
import { PinoNestLogger, wantsPrettyLogs } from '@app/observability';
import type { WorkerConfig } from './app.config';
import { WorkerModule } from './app.module';

/** Builds the worker (its loop starts on init; HTTP serves health and metrics). */
export async function createWorkerApp(config: WorkerConfig): Promise<INestApplication> {
  const app = await NestFactory.create(
    WorkerModule.forRoot(config, { prettyLogs: wantsPrettyLogs(config.LOG_FORMAT, { isTTY: Boolean(process.stdout.isTTY), nodeEnv: config.NODE_ENV }) }),
    {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  applyHttpDefaults(app, { bodyLimit: '16kb', raw: false });
  return app;
}
