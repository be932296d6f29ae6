import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { applyHttpDefaults } from '@app/http';
import type { WorkerConfig } from './app.config';
import { WorkerModule } from './app.module';

const LEVELS: Record<string, LogLevel[]> = {
  silent: [],
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Builds the worker (its loop starts on init; HTTP serves health and metrics). */
export async function createWorkerApp(config: WorkerConfig): Promise<INestApplication> {
  const app = await NestFactory.create(WorkerModule.forRoot(config), {
    bodyParser: false,
    logger: LEVELS[config.LOG_LEVEL] ?? LEVELS['info'],
  });
  applyHttpDefaults(app, { bodyLimit: '16kb', raw: false });
  return app;
}
