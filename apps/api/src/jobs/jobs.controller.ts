import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '@app/auth';
import { UploadJobEntity } from '@app/database';
import { ApiError } from '@app/http';
import { InvalidCursorError, JobsQueryService, JobTransitionsService, UploadCheckResult, UploadConfirmationService } from '@app/jobs';
import { RequestId } from '../request-id.decorator';
import { JobView, presentJob } from './job.presenter';
import { ListJobsQueryDto } from './list-jobs.dto';
import { presentUploadCheck, UploadCompleteView } from './upload-complete.presenter';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('api/v2/jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsQueryService,
    private readonly transitions: JobTransitionsService,
    private readonly confirmation: UploadConfirmationService,
  ) {}

  @Get(':id')
  async get(@Param('id') id: string, @CurrentUser() user: AuthUser): Promise<JobView> {
    const found = await this.jobs.findJobWithEvents(id, user.userId);
    if (!found) throw new ApiError(404, 'not_found', 'Job not found');
    return presentJob(found.job, found.events);
  }

  @Get()
  async list(@Query() q: ListJobsQueryDto, @CurrentUser() user: AuthUser): Promise<{ items: JobView[]; next_cursor: string | null }> {
    try {
      const page = await this.jobs.listJobs(user.userId, { limit: q.limit ?? 20, cursor: q.cursor, state: q.state, stage: q.stage });
      return { items: page.items.map((j) => presentJob(j)), next_cursor: page.nextCursor };
    } catch (e) {
      if (e instanceof InvalidCursorError) {
        throw new ApiError(400, 'validation_failed', 'Request validation failed', [{ field: 'cursor', messages: ['cursor is invalid'] }]);
      }
      throw e;
    }
  }

  /**
   * Checks the job's upload now (the worker's reconciler would, a little later): the object must be stored with the
   * declared size and sha256. Idempotent: a job no longer waiting for its bytes answers 200 with where it is.
   */
  @Post(':id/complete')
  @HttpCode(200)
  async complete(@Param('id') id: string, @CurrentUser() user: AuthUser, @RequestId() requestId: string): Promise<UploadCompleteView> {
    const r = await this.confirmation.checkOwnedJob(id, user.userId, requestId);
    if (!r) throw new ApiError(404, 'not_found', 'Job not found');
    return presentUploadCheck(await this.current(r, user.userId));
  }

  /** A check that found the job moved meanwhile reports it as it is now. */
  private async current(r: UploadCheckResult, userId: string): Promise<UploadCheckResult> {
    if (r.status !== 'not_waiting') return r;
    const job = await this.jobs.findJob(r.jobId, userId);
    return job ? { ...r, stage: job.stage, state: job.state, lastError: job.lastError } : r;
  }

  /** Sends a dead-lettered job back into the pipeline (from where it failed; a failed parse is submitted again). */
  @Post(':id/retry')
  @HttpCode(200)
  async retry(@Param('id') id: string, @CurrentUser() user: AuthUser, @RequestId() requestId: string): Promise<JobView> {
    const job = await this.jobs.findJob(id, user.userId);
    if (!job) throw new ApiError(404, 'not_found', 'Job not found');
    if (job.state !== 'deadletter') {
      throw new ApiError(409, 'conflict', `Only a dead-lettered job can be retried; this one is ${job.stage}/${job.state}`);
    }
    const t = await this.transitions.apply(
      job.jobId,
      { stage: job.stage, state: 'deadletter' },
      { type: 'retry' },
      { lastError: null, actor: `user:${user.userId}`, detail: { request_id: requestId, previous_error: job.lastError } },
    );
    if (!t) throw new ApiError(409, 'conflict', 'The job changed meanwhile; fetch it and try again');
    // The job as this retry left it: a re-read could already show a worker's next step (a worker claims a
    // queued job within milliseconds), which would not say what the retry did.
    const now = Object.assign(new UploadJobEntity(), job, {
      stage: t.to.stage,
      state: t.to.state,
      retryCount: 0,
      lastError: null,
      nextAttemptAt: null,
      claimedBy: null,
      leaseExpiresAt: null,
      updatedAt: new Date(),
    });
    return presentJob(now, await this.jobs.events(job.jobId));
  }
}
