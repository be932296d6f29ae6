export * from './lib/pipeline.options';
export * from './lib/pipeline.module';
export * from './lib/claim.service';
export * from './lib/worker-loop.service';
export type { RunOutcome } from './lib/stage-runner.service';
export * from './lib/job-counts';
