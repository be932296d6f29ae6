import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Webhook-Signature';

/** The signature header of v2 (`/api/v2/parse`) webhooks, as LlamaCloud sends it; same `sha256=<hex>` value. */
export const V2_SIGNATURE_HEADER = 'LC-Signature';

/** `sha256=<lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the job's webhook secret>`. */
export function signWebhookBody(secret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
