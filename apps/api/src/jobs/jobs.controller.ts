import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '@app/auth';
import { ApiError } from '@app/http';
import { InvalidCursorError, JobsQueryService } from '@app/jobs';
import { JobView, presentJob } from './job.presenter';
import { ListJobsQueryDto } from './list-jobs.dto';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('api/v2/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsQueryService) {}

  @Get(':id')
  async get(@Param('id') id: string, @CurrentUser() user: AuthUser): Promise<JobView> {
    const job = await this.jobs.findJob(id, user.userId);
    if (!job) throw new ApiError(404, 'not_found', 'Job not found');
    return presentJob(job, await this.jobs.events(job.jobId));
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
}
