import { Module } from '@nestjs/common';
import { JobsQueryService } from './jobs-query.service';
import { ParserWebhookService } from './parser-webhook.service';
import { JobStore } from './store/job-store.service';
import { JobTransitionsService } from './store/job-transitions.service';
import { UploadsService } from './uploads.service';

/**
 * Job persistence: transitions (through the state machine), the pipeline's job store, uploads, owner-scoped reads.
 * Needs DatabaseModule. The worker's claims (ClaimService, JobNotificationsService) are provided by the pipeline with
 * its CLAIM_OPTIONS.
 */
@Module({
  providers: [JobTransitionsService, JobStore, UploadsService, JobsQueryService, ParserWebhookService],
  exports: [JobTransitionsService, JobStore, UploadsService, JobsQueryService, ParserWebhookService],
})
export class JobsModule {}
