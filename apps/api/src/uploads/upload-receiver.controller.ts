import { Controller, Put, Query, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '@app/auth';
import { ApiError } from '@app/http';
import { Inject } from '@nestjs/common';
import { LOCAL_UPLOAD_PATH, STORAGE_OPTIONS, StorageOptions, verifyUploadSignature } from '@app/storage';
import { RequestId } from '../request-id.decorator';
import { UploadFlowService } from './upload-flow.service';

/**
 * Target of the signed upload URLs of the local storage driver. Not behind JWT: the HMAC-signed
 * query (key, expiry, size, sha256, content type) is the authorisation.
 */
@ApiExcludeController()
@Controller(LOCAL_UPLOAD_PATH.replace(/^\//, ''))
export class UploadReceiverController {
  constructor(
    private readonly flow: UploadFlowService,
    @Inject(STORAGE_OPTIONS) private readonly storageOptions: StorageOptions,
  ) {}

  @Public()
  @Put()
  async receive(@Query() query: Record<string, unknown>, @Req() req: Request, @RequestId() requestId: string) {
    if (this.storageOptions.driver !== 'local') throw new ApiError(404, 'not_found', 'Not found');
    const check = verifyUploadSignature(
      { ...query, contentType: req.headers['content-type'] ?? '' },
      this.storageOptions.signingSecret,
    );
    switch (check.status) {
      case 'malformed':
        throw new ApiError(403, 'invalid_signature', `Upload URL is malformed (${check.reason})`);
      case 'bad_signature':
        throw new ApiError(403, 'invalid_signature', 'Upload URL signature is invalid');
      case 'expired':
        throw new ApiError(403, 'upload_url_expired', `Upload URL expired at ${check.expiresAt.toISOString()}`);
      case 'ok':
        return this.flow.receive(check.upload, req, requestId);
    }
  }
}
