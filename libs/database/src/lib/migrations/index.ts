import { MigrationInterface } from 'typeorm';
import { initialSchemaMigration } from './1732350000000-initial-schema';
import { EmbeddingModels1764000000000 } from './1764000000000-embedding-models';
import { UnfinishedJobsIndex1764900000000 } from './1764900000000-unfinished-jobs-index';
import { QueuedUserIndex1765000000000 } from './1765000000000-queued-user-index';
import { RateLimits1765100000000 } from './1765100000000-rate-limits';
import { VectorsInline1765200000000 } from './1765200000000-vectors-inline';
import { ValueDomains1765300000000 } from './1765300000000-value-domains';

export interface MigrationOptions {
  embeddingDimensions: number;
}

/** Every migration, in order. Options are fixed at migration time (see the initial schema). */
export function buildMigrations(opts: MigrationOptions): (new () => MigrationInterface)[] {
  return [initialSchemaMigration({ embeddingDimensions: opts.embeddingDimensions }), EmbeddingModels1764000000000, UnfinishedJobsIndex1764900000000, QueuedUserIndex1765000000000, RateLimits1765100000000, VectorsInline1765200000000, ValueDomains1765300000000];
}
