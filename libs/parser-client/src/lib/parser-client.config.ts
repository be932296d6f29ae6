import { ServicePolicyOptions } from '@app/circuit-breaker';

/** LlamaParse's tiers (v2 `tier`; v1 maps them onto its `parse_mode`). */
export const LLAMAPARSE_TIERS = ['fast', 'cost_effective', 'agentic', 'agentic_plus'] as const;
export type LlamaParseTier = (typeof LLAMAPARSE_TIERS)[number];

/** The LlamaParse API a driver speaks: v2 (`/api/v2/parse`, the default) or v1 (`/api/v1/parsing`). */
export const PARSER_API_VERSIONS = ['v2', 'v1'] as const;
export type ParserApiVersion = (typeof PARSER_API_VERSIONS)[number];

/** How documents are parsed: sent with every upload. */
export interface LlamaParseParseOptions {
  /** Default `cost_effective`. */
  tier?: LlamaParseTier;
  /** v2 `version` of the tier. Default `latest`. */
  version?: string;
  /** Primary language of the documents (OCR), e.g. `en`, `fr`, `ch_sim`. Unset: the parser's default. */
  language?: string;
}

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
  /** Wait after a 429 without `retry-after`. Default 5 000. */
  rateLimitBackoffMs?: number;
  /** Tier, version and language of the parse. */
  parse?: LlamaParseParseOptions;
  /** Extra multipart fields sent with every upload (v1 only; e.g. `{ parse_mode: 'parse_page_without_llm' }`). */
  uploadFields?: Record<string, string>;
}

export interface ParserClientModuleOptions extends LlamaParseOptions {
  driver: 'llamaparse';
  /** The LlamaParse API to speak. Default `v2`. */
  apiVersion?: ParserApiVersion;
  /**
   * Policy options for the `parser` breaker, used only if CircuitBreakerModule was not configured for `parser`
   * and nothing created it before.
   */
  policy?: ServicePolicyOptions;
}

export const PARSER_CLIENT_OPTIONS = Symbol('PARSER_CLIENT_OPTIONS');
