import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';

let encoder: Tiktoken | undefined;

/** The cl100k_base encoder (text-embedding-3-*, ada-002), built once on first use from the bundled ranks. */
function cl100k(): Tiktoken {
  encoder ??= new Tiktoken(cl100kBase);
  return encoder;
}

/**
 * Tokens `text` costs the embeddings API (cl100k_base). Special-token strings such as `<|endoftext|>` are
 * counted as ordinary text, as the API does for embedding input.
 */
export function countTokens(text: string): number {
  if (!text) return 0;
  return cl100k().encode(text, [], []).length;
}
