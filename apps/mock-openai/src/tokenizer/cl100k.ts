import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';
import { BytePairEncoder } from './byte-pair';

/** cl100k_base from the ranks shipped inside js-tiktoken (nothing is downloaded). */
export interface LoadedEncoding {
  readonly name: 'cl100k_base';
  /** js-tiktoken's encoding: decodes, and tells which ids exist. */
  readonly tiktoken: Tiktoken;
  /** Encodes: the same tokens as `tiktoken.encode(text, [], [])`, in O(n log n) however long a word is. */
  readonly bpe: BytePairEncoder;
  /** validIds[id] === 1 when `id` is a rank or a special token of the encoding. */
  readonly validIds: Uint8Array;
}

let cached: LoadedEncoding | undefined;

/** Loads cl100k_base once per process (a few hundred ms) and reuses it. */
export function loadCl100k(): LoadedEncoding {
  if (cached) return cached;
  const tiktoken = new Tiktoken(cl100kBase);
  const specials = Object.values(cl100kBase.special_tokens);
  const size = Math.max(...specials) + 1;
  const validIds = new Uint8Array(size);
  for (const id of specials) validIds[id] = 1;
  for (let id = 0; id < size; id++) {
    if (!validIds[id] && tiktoken.decode([id]).length > 0) validIds[id] = 1;
  }
  cached = { name: 'cl100k_base', tiktoken, bpe: new BytePairEncoder(cl100kBase), validIds };
  return cached;
}
