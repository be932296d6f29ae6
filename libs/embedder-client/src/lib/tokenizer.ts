import { countTokens as countCl100k } from '@app/chunking';

/**
 * Tokens `text` costs the embeddings API (cl100k_base). Special-token strings such as `<|endoftext|>` are
 * counted as ordinary text, as the API does for embedding input. Uses the chunker's encoder (the same
 * counts, checked against js-tiktoken in @app/chunking's tests), so a worker holds one encoder, not two.
 */
export function countTokens(text: string): number {
  if (!text) return 0;
  return countCl100k(text);
}
