import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { setOutcome } from '../common/response-outcome';
import { StatsService } from '../common/stats.service';
import { FaultsService } from '../faults/faults.service';
import { EmbeddingsResponse } from './embeddings.dto';
import { EmbeddingsService } from './embeddings.service';

/** Aborts when the client goes away before the response is written. */
function clientGone(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class EmbeddingsController {
  constructor(
    private readonly embeddings: EmbeddingsService,
    private readonly faults: FaultsService,
    private readonly stats: StatsService,
  ) {}

  @Post('embeddings')
  @HttpCode(200)
  async create(
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EmbeddingsResponse> {
    this.stats.recordReceived();
    await this.faults.beforeEmbeddings(clientGone(res));
    const { response, headers } = this.embeddings.create(body);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.setHeader('openai-model', response.model); // openai-processing-ms and the rest: http-pipeline.ts
    setOutcome(res, 'ok');
    return response;
  }
}
