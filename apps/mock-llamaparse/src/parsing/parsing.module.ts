import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FaultInjectionMiddleware } from '../faults/fault-injection.middleware';
import { ParserRegistry } from '../parsers/parser.registry';
import { WebhookSender } from '../webhooks/webhook.sender';
import { ApiKeyGuard } from './api-key.guard';
import { JobsService } from './jobs.service';
import { ParseV2Controller } from './parse-v2.controller';
import { ParsingController } from './parsing.controller';
import { UploadInterceptor } from './upload.interceptor';

@Module({
  controllers: [ParsingController, ParseV2Controller],
  providers: [JobsService, ParserRegistry, WebhookSender, ApiKeyGuard, UploadInterceptor],
  exports: [JobsService],
})
export class ParsingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(FaultInjectionMiddleware).forRoutes(ParsingController, ParseV2Controller);
  }
}
