import { Injectable } from '@nestjs/common';
import type { StageHandler, StageResult } from '../job-context';

/**
 * Stages that mark a hand-over rather than do work of their own (parse_validated -> chunking,
 * chunks_stored -> embedding_queued -> embedding_in_progress). The runner chains through them in one
 * claim, each still one transition with its event.
 */
@Injectable()
export class PassThroughHandler implements StageHandler {
  readonly stages = ['parse_validated', 'chunks_stored', 'embedding_queued'] as const;

  async run(): Promise<StageResult> {
    return { type: 'advance' };
  }
}
