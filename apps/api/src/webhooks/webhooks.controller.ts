import { Controller, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '@app/auth';
import { ApiError } from '@app/http';
import { PARSER_WEBHOOK_ROUTE, ParserWebhookService } from '@app/jobs';
import { RequestId } from '../request-id.decorator';

/**
 * The parser's completion callback. Authenticated by the HMAC-SHA256 of the raw body with the job's
 * own secret (X-Webhook-Signature: sha256=<hex>), not by JWT. Replays answer 200 and change nothing.
 */
@ApiExcludeController()
@Controller(PARSER_WEBHOOK_ROUTE.controller)
export class WebhooksController {
  constructor(private readonly webhooks: ParserWebhookService) {}

  @Public()
  @Post(PARSER_WEBHOOK_ROUTE.path)
  @HttpCode(200)
  async llamaparse(
    @Param('jobId') jobId: string,
    @Headers('x-webhook-signature') signature: string | undefined,
    @Req() req: Request & { rawBody?: Buffer },
    @RequestId() requestId: string,
  ) {
    const raw = req.rawBody;
    if (!raw || !raw.length) throw new ApiError(401, 'unauthorized', 'Webhook signature missing or invalid');
    const r = await this.webhooks.handle(jobId, raw, signature, requestId);
    if (r.status === 'unauthorized') throw new ApiError(401, 'unauthorized', 'Webhook signature missing or invalid');
    return r;
  }
}
