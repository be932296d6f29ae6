import type { EmbedderModuleOptions } from './embedder.config';

/** The embedder settings every app reads from its validated config (same names everywhere). */
export interface EmbedderSettings {
  OPENAI_BASE_URL: string;
  OPENAI_API_KEY: string;
  EMBEDDING_MODEL: string;
  EMBEDDING_DIMENSIONS: number;
  EMBEDDER_TIMEOUT_MS: number;
  /** Token-rate budget of this process (tokens per minute); absent or 0 = none. */
  EMBEDDER_TPM?: number;
}

export function embedderOptionsFrom(c: EmbedderSettings): EmbedderModuleOptions {
  return {
    driver: 'openai',
    baseUrl: c.OPENAI_BASE_URL,
    apiKey: c.OPENAI_API_KEY,
    model: c.EMBEDDING_MODEL,
    dimensions: c.EMBEDDING_DIMENSIONS,
    timeoutMs: c.EMBEDDER_TIMEOUT_MS,
    tokensPerMinute: c.EMBEDDER_TPM || undefined,
  };
}
