import { Injectable } from '@nestjs/common';
import { invalidRequest } from '../common/openai-error';
import { StatsService } from '../common/stats.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { TokenizerService } from '../tokenizer/tokenizer.service';
import {
  EmbeddingInput,
  EmbeddingsRequest,
  EmbeddingsResponse,
  MAX_INPUT_TOKENS,
  MAX_REQUEST_TOKENS,
  parseEmbeddingsRequest,
} from './embeddings.dto';
import { float32ToBase64, vectorize } from './vectorizer';

export interface EmbeddingsResult {
  response: EmbeddingsResponse;
  /** x-ratelimit-* after this request was charged */
  headers: Record<string, string>;
}

interface TokenizedInput {
  text: string;
  tokens: number;
}

@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly tokenizer: TokenizerService,
    private readonly rateLimit: RateLimitService,
    private readonly stats: StatsService,
  ) {}

  /** Validates, enforces the token limits and the rate budget, and embeds. */
  create(body: unknown): EmbeddingsResult {
    const request = parseEmbeddingsRequest(body);
    const inputs = this.tokenize(request.inputs);
    const total = inputs.reduce((sum, i) => sum + i.tokens, 0);
    if (total > MAX_REQUEST_TOKENS) {
      throw invalidRequest(`Requested ${total} tokens, max ${MAX_REQUEST_TOKENS} tokens per request`, null, 'max_tokens_per_request');
    }
    const headers = this.rateLimit.consume(request.model.id, total);
    const response = this.embed(request, inputs, total);
    this.stats.recordServed(inputs.length, total);
    return { response, headers };
  }

  /** Counts tokens per input (token-id inputs are checked and decoded to their text). */
  private tokenize(inputs: EmbeddingInput[]): TokenizedInput[] {
    return inputs.map((input, index) => {
      let text: string;
      let tokens: number;
      if (input.kind === 'text') {
        text = input.text;
        tokens = this.tokenizer.count(text);
      } else {
        const bad = input.tokens.find((id) => !this.tokenizer.isValidToken(id));
        if (bad !== undefined) {
          throw invalidRequest(`Invalid token id ${bad} in 'input[${index}]' for encoding cl100k_base.`, 'input', 'invalid_value');
        }
        tokens = input.tokens.length;
        text = this.tokenizer.decode(input.tokens);
      }
      if (tokens > MAX_INPUT_TOKENS) {
        throw invalidRequest(
          `This model's maximum input length is ${MAX_INPUT_TOKENS} tokens, however you requested ${tokens} tokens in 'input[${index}]'. ` +
            'Please reduce the length of the input.',
          // OpenAI sends this one with neither param nor code.
          null,
          null,
        );
      }
      return { text, tokens };
    });
  }

  private embed(request: EmbeddingsRequest, inputs: TokenizedInput[], total: number): EmbeddingsResponse {
    const { model, dimensions, encodingFormat } = request;
    return {
      object: 'list',
      data: inputs.map((input, index) => {
        const vector = vectorize(input.text, model.id, dimensions);
        return {
          object: 'embedding',
          index,
          embedding: encodingFormat === 'base64' ? float32ToBase64(vector) : Array.from(vector),
        };
      }),
      model: model.id,
      usage: { prompt_tokens: total, total_tokens: total },
    };
  }
}
