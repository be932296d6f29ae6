import { Body, Controller, HttpCode, Logger, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthUser, CurrentUser } from '@app/auth';
import { TransientError } from '@app/errors';
import { ApiError } from '@app/http';
import { QueryEmbeddingError, SearchResponse, SearchService } from '@app/search';
import { SearchDto } from './search.dto';

@ApiTags('search')
@ApiBearerAuth()
@Controller('api/v2/search')
export class SearchController {
  private readonly logger = new Logger(SearchController.name);

  constructor(private readonly search: SearchService) {}

  /** The caller's chunks nearest to the query (current embedding model only), best first. */
  @Post()
  @HttpCode(200)
  async run(@Body() dto: SearchDto, @CurrentUser() user: AuthUser, @Res({ passthrough: true }) res: Response): Promise<SearchResponse> {
    try {
      return await this.search.search(user.userId, {
        query: dto.query,
        topK: dto.top_k ?? 10,
        documentIds: dto.document_ids,
        mode: dto.mode ?? 'vector',
      });
    } catch (e) {
      if (e instanceof QueryEmbeddingError) throw this.embedderFailure(e, res);
      throw e;
    }
  }

  /** Transient -> 503 (with Retry-After when known); the provider refusing the query -> 400; else 502. */
  private embedderFailure(e: QueryEmbeddingError, res: Response): ApiError {
    const up = e.upstream;
    this.logger.warn(`search: ${e.message}`);
    if (up instanceof TransientError) {
      if (up.retryAfterMs !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(up.retryAfterMs / 1000))));
      return new ApiError(503, 'embedder_unavailable', 'The embedding service is unavailable; try again later', { upstream_code: up.code });
    }
    if (up.status === 400) {
      return new ApiError(400, 'query_rejected', 'The embedding service refused the query', [{ field: 'query', messages: [up.message] }]);
    }
    return new ApiError(502, 'embedder_error', 'The embedding service failed', { upstream_code: up.code });
  }
}
