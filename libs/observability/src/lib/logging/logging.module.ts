import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { createAppLogger, LoggingModuleOptions, requestLogging } from './logging.config';
import { requestLoggingMiddleware } from './request-logging.middleware';

/** The app's root pino logger (`pino.Logger`), for code that wants pino itself rather than Nest's Logger. */
export const APP_LOGGER = Symbol('APP_LOGGER');

/**
 * The request logging middleware this module mounts on every route (`requestLoggingMiddleware`), for a route served
 * ahead of the router (the api's upload fast path) to log its requests the same way.
 */
export const REQUEST_LOGGING = Symbol('REQUEST_LOGGING');

export type RequestLoggingMiddleware = ReturnType<typeof requestLoggingMiddleware>;

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
        {
          provide: REQUEST_LOGGING,
          useFactory: (): RequestLoggingMiddleware => {
            const { logger: requestLogger, ...opts } = requestLogging(logger, options);
            return requestLoggingMiddleware(requestLogger, opts);
          },
        },
      ],
      exports: [APP_LOGGER, LoggerModule, REQUEST_LOGGING],
    };
  }

  constructor(@Inject(REQUEST_LOGGING) private readonly requestLogging: RequestLoggingMiddleware) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.requestLogging).forRoutes({ path: '*', method: RequestMethod.ALL });
  }
}
