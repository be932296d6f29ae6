import { Body, Controller, Delete, Get, HttpCode, Inject, Param, ParseIntPipe, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthUser, CurrentUser } from '@app/auth';
import { PermanentError, TransientError } from '@app/errors';
import {
  BuildConflictError,
  BuildRequestError,
  EmbeddingModel,
  EmbeddingModelsService,
  EmbeddingModelStatus,
  EmbeddingsOverview,
  ModelNotFoundError,
} from '@app/embeddings';
import { ApiError } from '@app/http';
import type { ApiConfig } from '../app.config';
import { API_CONFIG } from '../app.tokens';
import { ReembedDto } from './embeddings.dto';

/**
 * The embedding models (operators only: a token whose role is ADMIN_ROLE). Re-embedding fills in another
 * model's vectors next to the active one from the stored chunk text (nothing is parsed again); the workers do
 * the work and switch search over when every chunk has them.
 */
@ApiTags('embeddings')
@ApiBearerAuth()
@Controller('api/v2/embeddings')
export class EmbeddingsController {
  constructor(
    private readonly models: EmbeddingModelsService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Every registered model (active, building, retired) with how many chunks have its vectors. */
  @Get()
  async list(@CurrentUser() user: AuthUser): Promise<EmbeddingsOverview> {
    this.assertAdmin(user);
    return this.models.overview();
  }

  /** Starts re-embedding every chunk with `model` (202); the same request again while it runs returns it (200). */
  @Post('reembed')
  @HttpCode(202)
  async reembed(
    @Body() dto: ReembedDto,
    @CurrentUser() user: AuthUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EmbeddingModelStatus> {
    this.assertAdmin(user);
    try {
      const { model, started } = await this.models.startBuild(
        { model: dto.model, version: dto.version, dimensions: dto.dimensions },
        `user:${user.userId}`,
      );
      if (!started) res.status(200);
      return await this.models.get(model);
    } catch (e) {
      throw this.mapError(e, res);
    }
  }

  /** Cancels a build (its vectors are deleted) or removes a retired model; the active model cannot be removed. */
  @Delete(':model/:version')
  async remove(
    @Param('model') model: string,
    @Param('version', new ParseIntPipe({ errorHttpStatusCode: 400 })) version: number,
    @CurrentUser() user: AuthUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EmbeddingModel> {
    this.assertAdmin(user);
    try {
      return await this.models.remove({ model, version });
    } catch (e) {
      throw this.mapError(e, res);
    }
  }

  private assertAdmin(user: AuthUser): void {
    if (user.role !== this.config.ADMIN_ROLE)
      throw new ApiError(403, 'forbidden', `Managing embedding models needs a token with role ${this.config.ADMIN_ROLE}`);
  }

  private mapError(e: unknown, res: Response): unknown {
    if (e instanceof BuildRequestError) return new ApiError(400, 'invalid_request', e.message);
    if (e instanceof BuildConflictError) return new ApiError(409, 'conflict', e.message);
    if (e instanceof ModelNotFoundError) return new ApiError(404, 'not_found', e.message);
    if (e instanceof TransientError) {
      if (e.retryAfterMs !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))));
      return new ApiError(503, 'embedder_unavailable', 'The embedding service is unavailable; try again later', { upstream_code: e.code });
    }
    if (e instanceof PermanentError) return new ApiError(502, 'embedder_error', 'The embedding service failed', { upstream_code: e.code });
    return e;
  }
}
