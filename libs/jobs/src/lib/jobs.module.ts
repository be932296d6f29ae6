import { Module } from '@nestjs/common';
import { JobTransitionsService } from './job-transitions.service';
import { JobsQueryService } from './jobs-query.service';
import { ParserWebhookService } from './parser-webhook.service';
import { UploadsService } from './uploads.service';

/** Job persistence: transitions (through the state machine), uploads, owner-scoped reads. Needs DatabaseModule. */
@Module({
  providers: [JobTransitionsService, UploadsService, JobsQueryService, ParserWebhookService],
  exports: [JobTransitionsService, UploadsService, JobsQueryService, ParserWebhookService],
})
export class JobsModule {}
