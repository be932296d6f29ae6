/** Injection token of the ParserClient. */
export const PARSER_CLIENT = Symbol('PARSER_CLIENT');

export type ParserJobStatus = 'PENDING' | 'SUCCESS' | 'ERROR' | 'CANCELED';

export interface ParserSubmitRequest {
  fileName: string;
  mime: string;
  body: Buffer;
  /** Where the parser POSTs its signed completion webhook. */
  webhookUrl?: string;
  /**
   * Per-job HMAC secret for the webhook signature: v2 `webhook_signing_secret` (LC-Signature); v1 the mock's
   * `webhook_secret` field (X-Webhook-Signature).
   */
  webhookSecret?: string;
  /**
   * The upload asked for OCR (`ocr: true`): text in images is read on every page. Otherwise the parser's default
   * applies (LlamaParse, and the mock by default, read pages that have no text layer).
   */
  ocr?: boolean;
}

export interface ParserCallOptions {
  /** Caller's signal (e.g. shutdown): aborts the request and any retries. */
  signal?: AbortSignal;
}

export interface ParserStatusResult {
  status: ParserJobStatus;
  errorMessage?: string;
}

export interface ParserMarkdownResult {
  markdown: string;
  pages: number;
}

/**
 * A document parser (LlamaParse or its mock). Every method rejects only with TransientError (incl.
 * BreakerOpenError) or PermanentError from @app/circuit-breaker.
 */
export interface ParserClient {
  submit(req: ParserSubmitRequest, opts?: ParserCallOptions): Promise<{ parserJobId: string }>;
  status(parserJobId: string, opts?: ParserCallOptions): Promise<ParserStatusResult>;
  /** Only meaningful once status() is SUCCESS. */
  markdown(parserJobId: string, opts?: ParserCallOptions): Promise<ParserMarkdownResult>;
  /** Reachability and credentials check for readiness; bypasses retries and the breaker. Rejects when not usable. */
  ping(opts?: ParserCallOptions): Promise<void>;
}
