import { Controller, Inject, Put, Query, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '@app/auth';
import { ApiError } from '@app/http';
import { STORAGE, StorageDriver, UPLOAD_RECEIVER_PATH } from '@app/storage';
import { RequestId } from '../request-id.decorator';
import { UploadFlowService } from './upload-flow.service';

/**
 * Target of the signed upload URLs of a storage driver that receives uploads through the api (one
 * with a `receiver`, the local driver). Not behind JWT: the signed query (key, expiry, size, sha256,
 * content type) is the authorisation. 404 when the driver has no receiver (clients PUT to the store).
 */
@ApiExcludeController()
@Controller(UPLOAD_RECEIVER_PATH.replace(/^\//, ''))
export class UploadReceiverController {
  constructor(
    private readonly flow: UploadFlowService,
    @Inject(STORAGE) private readonly storage: StorageDriver,
  ) {}

  @Public()
  @Put()
  async receive(@Query() query: Record<string, unknown>, @Req() req: Request, @RequestId() requestId: string) {
    const receiver = this.storage.receiver;
    if (!receiver) throw new ApiError(404, 'not_found', 'Not found');
    const check = receiver.verify({ ...query, contentType: req.headers['content-type'] ?? '' });
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
