import type { TiktokenBPE } from 'js-tiktoken/lite';
import cl100kBaseData from 'js-tiktoken/ranks/cl100k_base';
import { Cl100kEncoder } from './cl100k-encoder';

/** Counts the tokens of a text. Must be deterministic. */
export type TokenCounter = (text: string) => number;

const CL100K_BASE: TiktokenBPE = cl100kBaseData;

let cached: Cl100kEncoder | undefined;

/** The process-wide encoder, built on first use (~0.1 s) and cached. */
function encoder(): Cl100kEncoder {
  cached ??= new Cl100kEncoder(CL100K_BASE);
  return cached;
}

/**
 * Number of cl100k_base tokens in `text` (the tokenizer of OpenAI's text-embedding-3-* / ada-002 models): exactly
 * js-tiktoken's count for every input, in O(n log n) for n bytes, however long a word is (see Cl100kEncoder).
 */
export function countTokens(text: string): number {
  return encoder().count(text);
}

/** cl100k_base token ids of `text`, identical to js-tiktoken's `encode(text, [], [])`. */
export function encodeTokens(text: string): number[] {
  return encoder().encode(text);
}

/** A cl100k_base {@link TokenCounter} sharing the cached encoder. */
export function createTokenCounter(): TokenCounter {
  const enc = encoder();
  return (text: string): number => enc.count(text);
}
