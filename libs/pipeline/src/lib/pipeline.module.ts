import { DynamicModule, Module } from '@nestjs/common';
import { CLAIM_OPTIONS, ClaimService, JobNotificationsService, JobsModule } from '@app/jobs';
import { ChunkingPool } from './chunking.pool';
import { ChunkHandler } from './handlers/chunk.handler';
import { EmbedHandler } from './handlers/embed.handler';
import { FetchParseHandler } from './handlers/fetch-parse.handler';
import { FinalizeHandler } from './handlers/finalize.handler';
import { PassThroughHandler } from './handlers/pass-through.handler';
import { SubmitParseHandler } from './handlers/submit-parse.handler';
import { ValidateParseHandler } from './handlers/validate-parse.handler';
import { ValidateUploadHandler } from './handlers/validate-upload.handler';
import { STAGE_HANDLERS, StageHandler } from './job-context';
import { PIPELINE_OPTIONS, PipelineOptions } from './pipeline.options';
import { StageRunner } from './stage-runner.service';
import { PIPELINE_DATABASE_URL, WorkerLoopService } from './worker-loop.service';

const HANDLERS = [
  ValidateUploadHandler,
  SubmitParseHandler,
  FetchParseHandler,
  ValidateParseHandler,
  PassThroughHandler,
  ChunkHandler,
  EmbedHandler,
  FinalizeHandler,
];

/**
 * The pipeline worker. Needs, from the app: DatabaseModule, StorageModule, CircuitBreakerModule,
 * ParserClientModule and EmbedderModule.
 */
@Module({})
export class PipelineModule {
  static forRoot(options: PipelineOptions & { databaseUrl: string }): DynamicModule {
    const { databaseUrl, ...opts } = options;
    return {
      module: PipelineModule,
      imports: [JobsModule],
      providers: [
        { provide: PIPELINE_OPTIONS, useValue: opts },
        { provide: PIPELINE_DATABASE_URL, useValue: databaseUrl },
        { provide: CLAIM_OPTIONS, useValue: { workerId: opts.workerId, leaseMs: opts.leaseMs } },
        { provide: ChunkingPool, useFactory: (o: PipelineOptions) => new ChunkingPool(o), inject: [PIPELINE_OPTIONS] },
        ...HANDLERS,
        { provide: STAGE_HANDLERS, useFactory: (...hs: StageHandler[]) => hs, inject: HANDLERS },
        ClaimService,
        StageRunner,
        JobNotificationsService,
        WorkerLoopService,
      ],
      exports: [WorkerLoopService, ClaimService, PIPELINE_OPTIONS],
    };
  }
}
