import { createHash, timingSafeEqual } from 'node:crypto';
import { Body, Controller, Headers, HttpCode, Inject, Logger, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { ApiError } from '@app/http';
import { UploadCheckStatus, UploadConfirmationService } from '@app/jobs';
import { STORAGE_OPTIONS, type StorageOptions } from '@app/storage';
import type { ApiConfig } from '../app.config';
import { API_CONFIG } from '../app.tokens';
import { RequestId } from '../request-id.decorator';
import { objectCreatedKeys } from './storage-event';

/** Records one notification may carry that are checked (S3 sends one, MinIO one; more is not an S3 event). */
const MAX_RECORDS = 100;

/**
 * S3/MinIO bucket event notifications (`s3:ObjectCreated:*`): each created object's key is mapped back to its job
 * (`users/<u>/documents/<d>/raw`) and the upload is confirmed exactly as the reconciler would (UploadConfirmationService:
 * the stored object is checked, the event's own size is never trusted). Authenticated with the shared secret
 * `STORAGE_EVENTS_TOKEN` (`Authorization: Bearer <token>`, MinIO's webhook `auth_token`); without it configured the
 * route is 404. Objects of another bucket and keys that are no document's raw bytes are ignored.
 */
@ApiExcludeController()
@Controller('api/v2/storage/events')
export class StorageEventsController {
  private readonly logger = new Logger(StorageEventsController.name);
  private readonly tokenDigest: Buffer | null;

  constructor(
    private readonly confirmation: UploadConfirmationService,
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(STORAGE_OPTIONS) private readonly storage: StorageOptions,
  ) {
    this.tokenDigest = config.STORAGE_EVENTS_TOKEN ? digest(config.STORAGE_EVENTS_TOKEN) : null;
  }

  @Public()
  @Post()
  @HttpCode(200)
  async receive(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @RequestId() requestId: string,
  ): Promise<{ results: { key: string; job_id: string | null; status: UploadCheckStatus | 'ignored' }[] }> {
    if (!this.tokenDigest) throw new ApiError(404, 'not_found', 'Route not found: POST /api/v2/storage/events');
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1]), this.tokenDigest)) throw new ApiError(401, 'unauthorized', 'Storage event token missing or invalid');
    const bucket = this.storage.driver === 's3' ? this.storage.bucket : null;
    const objects = objectCreatedKeys(body).slice(0, MAX_RECORDS);
    const results: { key: string; job_id: string | null; status: UploadCheckStatus | 'ignored' }[] = [];
    for (const o of objects) {
      if (bucket !== null && o.bucket !== null && o.bucket !== bucket) {
        results.push({ key: o.key, job_id: null, status: 'ignored' });
        continue;
      }
      const r = await this.confirmation.checkStorageKey(o.key, requestId);
      results.push({ key: o.key, job_id: r?.jobId ?? null, status: r?.status ?? 'ignored' });
    }
    if (results.some((r) => r.status !== 'ignored')) this.logger.log({ msg: 'storage events', results });
    return { results };
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
