/** Injection token of the ParserClient. */
export const PARSER_CLIENT = Symbol('PARSER_CLIENT');

export type ParserJobStatus = 'PENDING' | 'SUCCESS' | 'ERROR' | 'CANCELED';

export interface ParserSubmitRequest {
  fileName: string;
  mime: string;
  body: Buffer;
  /** Where the parser POSTs its signed completion webhook. */
  webhookUrl?: string;
  /** Per-job HMAC secret for the webhook signature (multipart field `webhook_secret`). */
  webhookSecret?: string;
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
