import { DynamicModule, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { correlationMiddleware } from './correlation.middleware';
import { createAppLogger, LoggingModuleOptions, pinoHttpOptions } from './logging.config';

/** The app's root pino logger (`pino.Logger`), for code that wants pino itself rather than Nest's Logger. */
export const APP_LOGGER = Symbol('APP_LOGGER');

/**
 * nestjs-pino configured our way (see `pinoLoggerOptions` / `pinoHttpOptions`), plus a middleware that
 * runs each request inside its correlation id. Global. In the app factory:
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
      imports: [LoggerModule.forRoot({ pinoHttp: pinoHttpOptions(logger, options) })],
      providers: [{ provide: APP_LOGGER, useValue: logger }],
      exports: [APP_LOGGER, LoggerModule],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(correlationMiddleware).forRoutes({ path: '*', method: RequestMethod.ALL });
  }
}
