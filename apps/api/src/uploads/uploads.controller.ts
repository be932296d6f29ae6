import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
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
}
