import { PermanentError } from '@app/errors';
import { OPENAI_EMBEDDING_LIMITS } from './embedder.config';

export interface PlanItem {
  id: string;
  text: string;
  /** Tokens of `text` as the embedder counts them. */
  tokens: number;
}

export interface BatchLimits {
  /** Max inputs per request. Default 2048. */
  maxInputs?: number;
  /** Max total tokens per request. Default 300 000. */
  maxTokensPerRequest?: number;
  /** Max tokens of one input. Default 8191. */
  maxTokensPerInput?: number;
}

/**
 * Splits items, in order, into consecutive batches that each respect `maxInputs` and `maxTokensPerRequest`
 * (greedy: a batch is closed when the next item would break a limit). Throws PermanentError `input_too_long`
 * for an item over `maxTokensPerInput` and `empty_input` for empty text (the chunker must prevent both).
 */
export function planBatches<T extends PlanItem>(items: readonly T[], limits: BatchLimits = {}): T[][] {
  const maxInputs = limits.maxInputs ?? OPENAI_EMBEDDING_LIMITS.maxInputs;
  const maxTokensPerRequest = limits.maxTokensPerRequest ?? OPENAI_EMBEDDING_LIMITS.maxTokensPerRequest;
  const maxTokensPerInput = limits.maxTokensPerInput ?? OPENAI_EMBEDDING_LIMITS.maxInputTokens;
  if (!(Number.isInteger(maxInputs) && maxInputs >= 1)) throw new RangeError(`maxInputs must be an integer >= 1`);
  if (!(maxTokensPerInput >= 1 && maxTokensPerRequest >= maxTokensPerInput))
    throw new RangeError(`need 1 <= maxTokensPerInput <= maxTokensPerRequest`);

  const batches: T[][] = [];
  let current: T[] = [];
  let currentTokens = 0;
  for (const item of items) {
    if (!Number.isInteger(item.tokens) || item.tokens < 0)
      throw new RangeError(`item ${item.id}: tokens must be a non-negative integer (got ${item.tokens})`);
    if (!item.text)
      throw new PermanentError(`item ${item.id}: empty text cannot be embedded`, { code: 'empty_input', service: 'embedder' });
    if (item.tokens > maxTokensPerInput)
      throw new PermanentError(`item ${item.id}: ${item.tokens} tokens exceeds the ${maxTokensPerInput}-token input limit`, {
        code: 'input_too_long',
        service: 'embedder',
      });
    if (current.length && (current.length >= maxInputs || currentTokens + item.tokens > maxTokensPerRequest)) {
      batches.push(current);
      current = [];
      currentTokens = 0;
    }
    current.push(item);
    currentTokens += item.tokens;
  }
  if (current.length) batches.push(current);
  return batches;
}
