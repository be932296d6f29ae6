import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MetricsModule } from '@app/observability';
import { AppConfig } from './app.config';
import { OpenAIExceptionFilter } from './common/openai-exception.filter';
import { StatsService } from './common/stats.service';
import { EmbeddingsModule } from './embeddings/embeddings.module';
import { FaultsModule } from './faults/faults.module';
import { HealthModule } from './health/health.module';
import { MetricsService } from './metrics/metrics.service';
import { ModelsModule } from './models/models.module';

/** The mock-openai application; `forRoot(config)` makes the validated config injectable everywhere. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [FaultsModule, EmbeddingsModule, ModelsModule, HealthModule, MetricsModule.forRoot({ app: 'mock-openai' })],
      providers: [
        { provide: AppConfig, useValue: config },
        MetricsService,
        StatsService,
        { provide: APP_FILTER, useClass: OpenAIExceptionFilter },
      ],
      exports: [AppConfig, StatsService],
    };
  }
}
