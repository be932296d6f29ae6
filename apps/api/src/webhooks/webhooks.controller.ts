import { Controller, Headers, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '@app/auth';
import { ApiError } from '@app/http';
import { PARSER_WEBHOOK_ROUTE, ParserWebhookService } from '@app/jobs';
import type { ApiConfig } from '../app.config';
import { API_CONFIG } from '../app.tokens';
import { RequestId } from '../request-id.decorator';

/**
 * The parser's completion callback. Authenticated by the HMAC-SHA256 of the raw body with the job's
 * own secret, not by JWT: `LC-Signature: sha256=<hex>` (LlamaParse v2) or `X-Webhook-Signature: sha256=<hex>`
 * (the mock's v1). The body is a JSON object or a JSON-encoded string of one (v2's `string` output format).
 * A missing or wrong signature is 401. Replays answer 200 and change nothing. With WEBHOOK_ACCEPT_UNSIGNED, a delivery
 * with no signature header at all is a hint (202): the job is woken to ask the parser, the body is not trusted.
 */
@ApiExcludeController()
@Controller(PARSER_WEBHOOK_ROUTE.controller)
export class WebhooksController {
  private readonly acceptUnsigned: boolean;

  constructor(
    private readonly webhooks: ParserWebhookService,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.acceptUnsigned = config.WEBHOOK_ACCEPT_UNSIGNED;
  }

  @Public()
  @Post(PARSER_WEBHOOK_ROUTE.path)
  @HttpCode(200)
  async llamaparse(
    @Param('jobId') jobId: string,
    @Headers('x-webhook-signature') signature: string | undefined,
    @Headers('lc-signature') lcSignature: string | undefined,
    @Req() req: Request & { rawBody?: Buffer },
    @RequestId() requestId: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    const raw = req.rawBody ?? Buffer.alloc(0);
    if (!raw.length && !this.acceptUnsigned) throw new ApiError(401, 'unauthorized', 'Webhook signature missing or invalid');
    const r = await this.webhooks.handle(jobId, raw, signature, requestId, lcSignature, { acceptUnsigned: this.acceptUnsigned });
    if (r.status === 'unauthorized') throw new ApiError(401, 'unauthorized', 'Webhook signature missing or invalid');
    if (r.status === 'unverified') res.status(202);
    return r;
  }
}
