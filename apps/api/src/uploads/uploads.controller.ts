import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthUser, CurrentUser } from '@app/auth';
import { RequestId } from '../request-id.decorator';
import { CreateUploadDto, UploadResponse } from './upload.dto';
import { UploadFlowService } from './upload-flow.service';

@ApiTags('uploads')
@ApiBearerAuth()
@Controller('api/v2/upload')
export class UploadsController {
  constructor(private readonly flow: UploadFlowService) {}

  /** 201 with a signed URL for a new document; 200 with the existing document and job for the same bytes. */
  @Post()
  @HttpCode(201)
  async create(
    @Body() dto: CreateUploadDto,
    @CurrentUser() user: AuthUser,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UploadResponse> {
    const { body, created } = await this.flow.create(user.userId, dto, requestId);
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
