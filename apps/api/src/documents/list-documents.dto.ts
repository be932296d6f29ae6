import { PickType } from '@nestjs/swagger';
import { ListJobsQueryDto } from '../jobs/list-jobs.dto';

/** `limit` (1..100, default 20) and `cursor` (next_cursor of the previous page), as for jobs. */
export class ListDocumentsQueryDto extends PickType(ListJobsQueryDto, ['limit', 'cursor'] as const) {}
