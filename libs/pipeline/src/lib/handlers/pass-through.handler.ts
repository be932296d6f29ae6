import { Injectable } from '@nestjs/common';
import type { StageHandler, StageResult } from '../job-context';

/**
 * Stages that mark a hand-over rather than do work of their own (parse_validated -> chunking,
 * chunks_stored -> embedding_queued -> embedding_in_progress). The runner applies their transitions in the
 * same statement as the transition that reached them, each still with its own event row.
 */
@Injectable()
export class PassThroughHandler implements StageHandler {
  readonly stages = ['parse_validated', 'chunks_stored', 'embedding_queued'] as const;
  readonly passThrough = true;

  async run(): Promise<StageResult> {
    return { type: 'advance' };
  }
}
