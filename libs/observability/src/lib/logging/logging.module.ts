import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import type { Logger } from 'pino';
import { LoggerModule } from 'nestjs-pino';
import { createAppLogger, LoggingModuleOptions, requestLogging } from './logging.config';
import { requestLoggingMiddleware } from './request-logging.middleware';

/** The app's root pino logger (`pino.Logger`), for code that wants pino itself rather than Nest's Logger. */
export const APP_LOGGER = Symbol('APP_LOGGER');

const LOGGING_OPTIONS = Symbol('LOGGING_OPTIONS');

/**
 * nestjs-pino's loggers configured our way (see `pinoLoggerOptions` / `requestLogging`), and one middleware that logs
 * each request and runs it inside its request logger and correlation id (`requestLoggingMiddleware`, in place of
 * nestjs-pino's pino-http middleware). Global. In the app factory:
 *
 *     const app = await NestFactory.create(AppModule, { bufferLogs: true });
 *     app.useLogger(app.get(Logger)); // Logger from 'nestjs-pino' (re-exported here as PinoNestLogger)
 *
 * Note: nestjs-pino keeps one out-of-request logger per process (the first app's), so in a process
 * that builds several apps (tests) logs written outside a request go to the first app's destination.
 */
@Module({})
export class LoggingModule implements NestModule {
  static forRoot(options: LoggingModuleOptions): DynamicModule {
    const logger = createAppLogger(options);
    return {
      module: LoggingModule,
      global: true,
      // nestjs-pino's Logger and PinoLogger write through `logger`; its own middleware is not used (no routes)
      imports: [LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, forRoutes: [] })],
      providers: [
        { provide: APP_LOGGER, useValue: logger },
        { provide: LOGGING_OPTIONS, useValue: options },
      ],
      exports: [APP_LOGGER, LoggerModule],
    };
  }

  constructor(
    @Inject(APP_LOGGER) private readonly logger: Logger,
    @Inject(LOGGING_OPTIONS) private readonly options: LoggingModuleOptions,
  ) {}

  configure(consumer: MiddlewareConsumer): void {
    const { logger, ...opts } = requestLogging(this.logger, this.options);
    consumer.apply(requestLoggingMiddleware(logger, opts)).forRoutes({ path: '*', method: RequestMethod.ALL });
  }
}
