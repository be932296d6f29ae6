import { Body, Controller, HttpCode, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuthUser, CurrentUser } from '@app/auth';
import { RequestId } from '../request-id.decorator';
import { uploadHitOf, UploadThrottle } from '../security/upload-throttle';
import { UploadThrottleFilter } from '../security/upload-throttle.filter';
import { UploadThrottleGuard } from '../security/upload-throttle.guard';
import { CreateUploadDto, UploadResponse } from './upload.dto';
import { UploadFlowService } from './upload-flow.service';

@ApiTags('uploads')
@ApiBearerAuth()
@Controller('api/v2/upload')
export class UploadsController {
  constructor(
    private readonly flow: UploadFlowService,
    private readonly throttle: UploadThrottle,
  ) {}

  /**
   * 201 with a signed URL for a new document; 200 with the existing document and job for the same bytes. Rate limited
   * per user (429 `rate_limited`); the hit is counted in the upload's own statement.
   */
  @Post()
  @HttpCode(201)
  @UseGuards(UploadThrottleGuard)
  @UseFilters(UploadThrottleFilter)
  async create(
    @Body() dto: CreateUploadDto,
    @CurrentUser() user: AuthUser,
    @RequestId() requestId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UploadResponse> {
    const hit = uploadHitOf(req);
    const { body, created } = await this.flow.create(user.userId, dto, requestId, hit);
    if (hit?.result) this.throttle.setHeaders(res, hit.result);
    if (!created) res.status(200);
    return body;
  }

  /**
   * The bytes are stored (uploaded to the object store directly): checks the stored object and moves the job on.
   * 200 `received: true`, or `received: false` when the job had already moved on; 409 `upload_missing` before the bytes.
   */
  @Post(':document_id/complete')
  @HttpCode(200)
  async complete(@Param('document_id') documentId: string, @CurrentUser() user: AuthUser, @RequestId() requestId: string) {
    return this.flow.complete(user.userId, documentId, requestId);
  }
}
