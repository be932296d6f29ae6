import { Injectable, OnModuleInit } from '@nestjs/common';
import { LoadedEncoding, loadCl100k } from './cl100k';

/**
 * Counts tokens exactly as OpenAI does for its embedding models (all use cl100k_base).
 * Special-token text such as "<|endoftext|>" is counted as ordinary text, never rejected.
 * Encoding gives js-tiktoken's tokens but costs O(n log n) for n bytes: js-tiktoken's own merge is quadratic
 * in the length of a word, and one 200,000-character word kept the app from answering for hours.
 */
@Injectable()
export class TokenizerService implements OnModuleInit {
  private encoding?: LoadedEncoding;

  onModuleInit(): void {
    this.encoding = loadCl100k();
  }

  isReady(): boolean {
    return this.encoding !== undefined;
  }

  encode(text: string): number[] {
    return this.loaded().bpe.encode(text);
  }

  count(text: string): number {
    return this.encode(text).length;
  }

  decode(tokens: readonly number[]): string {
    return this.loaded().tiktoken.decode([...tokens]);
  }

  /** True when `id` is an integer the encoding knows (a rank or a special token). */
  isValidToken(id: number): boolean {
    const valid = this.loaded().validIds;
    return Number.isInteger(id) && id >= 0 && id < valid.length && valid[id] === 1;
  }

  private loaded(): LoadedEncoding {
    this.encoding ??= loadCl100k();
    return this.encoding;
  }
}
