export * from './lib/pipeline.options';
export * from './lib/pipeline.module';
export * from './lib/worker-loop.service';
export type { RunOutcome } from './lib/stage-runner.service';
