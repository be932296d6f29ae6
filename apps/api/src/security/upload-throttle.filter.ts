import { ArgumentsHost, Catch, ExceptionFilter, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AllExceptionsFilter } from '@app/http';
import { UploadThrottle, uploadHitOf } from './upload-throttle';

/**
 * The errors of a throttled route (with UploadThrottleGuard). A request that fails after the guard but before its hit
 * was counted (a body the validation pipe refuses, a check of the handler) is counted here, in a statement of its own,
 * and answers 429 instead when the user is over the limit: the count and the answer of a guard that counts before
 * anything else. A refused hit gets its `Retry-After`. The answer is then written by the app's AllExceptionsFilter.
 */
@Catch()
@Injectable()
export class UploadThrottleFilter implements ExceptionFilter {
  private readonly answer = new AllExceptionsFilter();

  constructor(private readonly throttle: UploadThrottle) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    const hit = uploadHitOf(http.getRequest<IncomingMessage>());
    let error = exception;
    if (hit && !hit.attempted) error = await this.throttle.countAlone(hit).then(() => exception, (e: unknown) => (hit.result?.isBlocked ? e : exception));
    if (hit?.result) this.throttle.setHeaders(http.getResponse<ServerResponse>(), hit.result);
    this.answer.catch(error, host);
  }
}
