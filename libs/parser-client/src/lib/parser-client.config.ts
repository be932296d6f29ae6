import { ServicePolicyOptions } from '@app/circuit-breaker';

export interface LlamaParseOptions {
  /** e.g. `https://api.cloud.llamaindex.ai` or `http://localhost:8001` (no `/api/v1`). */
  baseUrl: string;
  apiKey: string;
  /** Per-attempt timeout of status/result calls. Default 30 000. */
  timeoutMs?: number;
  /** Per-attempt timeout of the upload. Default: max(timeoutMs, 120 000). */
  uploadTimeoutMs?: number;
  /** Timeout of ping(). Default 5 000. */
  pingTimeoutMs?: number;
  /** Extra multipart fields sent with every upload (e.g. `{ parse_mode: 'parse_page_without_llm' }`). */
  uploadFields?: Record<string, string>;
}

export interface ParserClientModuleOptions extends LlamaParseOptions {
  driver: 'llamaparse';
  /**
   * Policy options for the `parser` breaker, used only if CircuitBreakerModule was not configured for `parser`
   * and nothing created it before.
   */
  policy?: ServicePolicyOptions;
}

export const PARSER_CLIENT_OPTIONS = Symbol('PARSER_CLIENT_OPTIONS');
