import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppValidationPipe } from '@app/http';
import { MetricsModule } from '@app/observability';
import { APP_CONFIG, MockLlamaParseConfig } from './app.config';
import { DetailExceptionFilter } from './common/detail-exception.filter';
import { FaultsModule } from './faults/faults.module';
import { MockAdminController } from './faults/mock-admin.controller';
import { HealthModule } from './health/health.module';
import { ParsingModule } from './parsing/parsing.module';

@Module({})
export class AppModule {
  static forRoot(config: MockLlamaParseConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [FaultsModule, ParsingModule, HealthModule, MetricsModule.forRoot({ app: 'mock-llamaparse' })],
      controllers: [MockAdminController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: DetailExceptionFilter },
        {
          provide: APP_PIPE,
          // @app/http's ValidationPipe: also refuses a missing, non-object or deeply nested body with a 400 (a
          // body nested a few thousand levels overflowed class-transformer's recursion: a 500)
          useValue: new AppValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
        },
      ],
      exports: [APP_CONFIG],
    };
  }
}
