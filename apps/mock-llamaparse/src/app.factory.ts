import { ConsoleLogger, INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MockLlamaParseConfig } from './app.config';
import { AppModule } from './app.module';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

function logLevels(level: string): LogLevel[] {
  const index = LEVELS.indexOf(level as LogLevel);
  return index < 0 ? [] : LEVELS.slice(0, index + 1);
}

export interface CreateAppOptions {
  /** Overrides MOCK_LLAMAPARSE_LOG_LEVEL, e.g. `'silent'` in tests. */
  logLevel?: string;
}

/**
 * Builds the mock-llamaparse Nest app (not listening yet) from a validated config; used by main.ts and tests.
 * Logs are JSON lines.
 */
export async function createApp(config: MockLlamaParseConfig, options: CreateAppOptions = {}): Promise<INestApplication> {
  const level = options.logLevel ?? config.MOCK_LLAMAPARSE_LOG_LEVEL;
  const logger = level === 'silent' ? false : new ConsoleLogger('mock-llamaparse', { json: true, logLevels: logLevels(level) });
  const app = await NestFactory.create(AppModule.forRoot(config), { logger, bodyParser: true });
  return app;
}
