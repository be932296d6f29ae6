import { DataSource } from 'typeorm';
import { prepared, runPrepared } from '@app/database';
import type { JobState, Stage } from '@app/state-machine';

export interface UnfinishedJobCount {
  stage: Stage;
  state: JobState;
  count: number;
}

/**
 * Unfinished jobs (every state but `done`: the backlog, the jobs in hand and waiting, the dead letters) by stage and
 * state. Its WHERE is the predicate of the partial index `upload_jobs_unfinished_idx`, so it reads that index only:
 * its cost follows the backlog, not the number of jobs ever run. Finished jobs are not counted; how many finish is
 * the rate of `ingest_transitions_total{event="finalized"}`.
 */
export const UNFINISHED_JOB_COUNTS = prepared(
  `SELECT stage, state, count(*)::int AS count FROM upload_pipeline.upload_jobs WHERE state <> 'done' GROUP BY stage, state`,
);

export function countUnfinishedJobs(ds: DataSource): Promise<UnfinishedJobCount[]> {
  return runPrepared<UnfinishedJobCount>(ds, UNFINISHED_JOB_COUNTS);
}
