import { ServicePolicyOptions } from '@app/circuit-breaker';

export interface OpenAiEmbedderOptions {
  /** Includes the version path, as the openai SDK expects: `https://api.openai.com/v1`, `http://localhost:8002/v1`. */
  baseUrl?: string;
  apiKey: string;
  /** Default `text-embedding-3-small`. */
  model?: string;
  /** Vector size; sent as `dimensions` (unless `sendDimensions` is false) and checked on every vector. Default 1536. */
  dimensions?: number;
  /** Send `dimensions` in the request (false for text-embedding-ada-002). Default true. */
  sendDimensions?: boolean;
  /** Per-attempt timeout. Default 30 000. */
  timeoutMs?: number;
  /** Timeout of ping(). Default 5 000. */
  pingTimeoutMs?: number;
  /** Token-rate budget of this process (tokens per minute); 0 or absent = no budget. */
  tokensPerMinute?: number;
  /** Wire encoding of vectors. Default `base64` (4x smaller); `float` also understood. */
  encodingFormat?: 'base64' | 'float';
  /** Provider limits. Defaults 8191 / 2048 / 300 000. */
  maxInputTokens?: number;
  maxInputs?: number;
  maxTokensPerRequest?: number;
  /**
   * Key each call by the current correlation id when the caller passes no `inputKey` (see EmbedOptions). The worker
   * runs each job inside its own correlation id, so its embed calls are keyed by job; off by default (in the api a
   * correlation id is a request's, which says nothing about an input).
   */
  inputKeyFromCorrelation?: boolean;
}

export interface EmbedderModuleOptions extends OpenAiEmbedderOptions {
  driver: 'openai';
  /**
   * Policy options for the `embedder` breaker, used only if CircuitBreakerModule was not configured for
   * `embedder` and nothing created it before.
   */
  policy?: ServicePolicyOptions;
}

export const EMBEDDER_OPTIONS = Symbol('EMBEDDER_OPTIONS');

export const OPENAI_EMBEDDING_LIMITS = Object.freeze({
  maxInputTokens: 8191,
  maxInputs: 2048,
  maxTokensPerRequest: 300_000,
});
