import { currentCorrelationId } from '@app/observability';
import { ServicePolicy } from '@app/circuit-breaker';
import { PermanentError, TransientError, classifyError, classifyHttpStatus } from '@app/errors';
import { endianness } from 'node:os';
import OpenAI from 'openai';
import { OPENAI_EMBEDDING_LIMITS, OpenAiEmbedderOptions } from './embedder.config';
import { EmbedOptions, EmbedResult, Embedder } from './embedder.interface';
import { TokenRateBudget } from './token-rate-budget';
import { countTokens } from './tokenizer';
import { undiciFetch } from './undici-fetch';

const SERVICE = 'embedder';

/**
 * Maps what the openai SDK throws onto the pipeline's classification: 429 `insufficient_quota` permanent,
 * other 429 transient with retry-after, 408/425/5xx and connection errors/timeouts transient, other 4xx permanent.
 */
export function classifyOpenAiError(err: unknown): TransientError | PermanentError {
  if (err instanceof OpenAI.APIUserAbortError)
    return new TransientError('embedder request aborted', { code: 'aborted', service: SERVICE, cause: err });
  if (err instanceof OpenAI.APIConnectionTimeoutError)
    return new TransientError('embedder request timed out', { code: 'timeout', service: SERVICE, cause: err });
  if (err instanceof OpenAI.APIConnectionError) {
    const inner = classifyError(err.cause ?? err, SERVICE);
    return new TransientError(`embedder connection error: ${err.message}`, {
      code: inner.code === 'unknown' ? 'connection_error' : inner.code,
      service: SERVICE,
      cause: err,
    });
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number')
    return classifyHttpStatus(err.status, err.headers, { service: SERVICE, code: err.code, message: err.message, cause: err });
  return classifyError(err, SERVICE);
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Decodes one embedding into float32s: base64 little-endian float32 (the SDK's default wire format), viewed in place
 * where the host is little-endian and the bytes are aligned (copied otherwise), or a plain array of numbers.
 */
function decodeEmbedding(raw: unknown): Float32Array | undefined {
  if (Array.isArray(raw)) return raw.every((x) => typeof x === 'number') ? Float32Array.from(raw as number[]) : undefined;
  if (typeof raw !== 'string') return undefined;
  const buf = Buffer.from(raw, 'base64');
  if (buf.length % 4 !== 0) return undefined;
  const n = buf.length / 4;
  if (LITTLE_ENDIAN && buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, n);
  const out = new Float32Array(n);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function badResponse(detail: string): PermanentError {
  return new PermanentError(`embedder: unexpected response (${detail})`, { code: 'bad_response', service: SERVICE });
}

/** OpenAI embeddings (`POST {baseUrl}/embeddings`) via the official SDK; its own retries off, ours on. */
/** The job's correlation id travels to the provider as x-request-id (shows in its logs). */
function correlationHeaders(): Record<string, string> {
  const id = currentCorrelationId();
  return id ? { 'x-request-id': id } : {};
}

export class OpenAiEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly maxInputTokens: number;
  readonly maxInputs: number;
  readonly maxTokensPerRequest: number;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;
  private readonly pingTimeoutMs: number;

  constructor(
    private readonly options: OpenAiEmbedderOptions,
    private readonly policy: ServicePolicy,
    /** Shared token-rate budget; when absent no rate limiting happens here. */
    readonly budget?: TokenRateBudget,
    /** Embedders for other models made by forModel, shared by all of them. */
    private readonly siblings = new Map<string, OpenAiEmbedder>(),
  ) {
    if (!options.apiKey) throw new Error('OpenAiEmbedder: apiKey is required');
    this.model = options.model ?? 'text-embedding-3-small';
    this.dimensions = options.dimensions ?? 1536;
    if (!(Number.isInteger(this.dimensions) && this.dimensions > 0))
      throw new RangeError(`OpenAiEmbedder: dimensions must be a positive integer (got ${this.dimensions})`);
    this.maxInputTokens = options.maxInputTokens ?? OPENAI_EMBEDDING_LIMITS.maxInputTokens;
    this.maxInputs = options.maxInputs ?? OPENAI_EMBEDDING_LIMITS.maxInputs;
    this.maxTokensPerRequest = options.maxTokensPerRequest ?? OPENAI_EMBEDDING_LIMITS.maxTokensPerRequest;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? 'https://api.openai.com/v1',
      maxRetries: 0,
      timeout: this.timeoutMs,
      fetch: undiciFetch,
    });
  }

  forModel(model: string, dimensions: number): Embedder {
    if (model === this.model && dimensions === this.dimensions) return this;
    const key = `${model}\u0000${dimensions}`;
    let other = this.siblings.get(key);
    if (!other) {
      other = new OpenAiEmbedder({ ...this.options, model, dimensions }, this.policy, this.budget, this.siblings);
      this.siblings.set(key, other);
    }
    return other;
  }

  countTokens(text: string): number {
    return countTokens(text);
  }

  async embed(inputs: string[], opts: EmbedOptions = {}): Promise<EmbedResult> {
    if (inputs.length === 0) return { vectors: [], promptTokens: 0, model: this.model };
    if (inputs.length > this.maxInputs)
      throw new PermanentError(`embedder: ${inputs.length} inputs exceed the ${this.maxInputs}-input limit`, {
        code: 'too_many_inputs',
        service: SERVICE,
      });
    const empty = inputs.findIndex((s) => typeof s !== 'string' || s.length === 0);
    if (empty >= 0)
      throw new PermanentError(`embedder: input ${empty} is empty`, { code: 'empty_input', service: SERVICE });

    if (this.budget) {
      const tokens = opts.tokens ?? inputs.reduce((n, s) => n + countTokens(s), 0);
      try {
        await this.budget.acquire(tokens, opts.signal);
      } catch (e) {
        throw classifyError(e, SERVICE);
      }
    }

    const encoding = this.options.encodingFormat ?? 'base64';
    const res = await this.policy.execute(
      async (signal) => {
        try {
          return await this.client.embeddings.create(
            {
              model: this.model,
              input: inputs,
              encoding_format: encoding,
              ...(this.options.sendDimensions === false ? {} : { dimensions: this.dimensions }),
            },
            { signal, headers: correlationHeaders() },
          );
        } catch (e) {
          throw classifyOpenAiError(e);
        }
      },
      { signal: opts.signal, timeoutMs: this.timeoutMs, inputKey: opts.inputKey ?? (this.options.inputKeyFromCorrelation ? currentCorrelationId() : undefined) },
    );

    const data = Array.isArray(res?.data) ? res.data : undefined;
    if (!data || data.length !== inputs.length)
      throw badResponse(`${data?.length ?? 'no'} embeddings for ${inputs.length} inputs`);
    const vectors = new Array<Float32Array>(inputs.length);
    for (const item of data) {
      const index = item.index;
      if (!Number.isInteger(index) || index < 0 || index >= inputs.length || vectors[index])
        throw badResponse(`bad or repeated index ${String(index)}`);
      const vector = decodeEmbedding(item.embedding as unknown);
      if (!vector) throw badResponse(`embedding ${index} is not a float vector`);
      if (vector.length !== this.dimensions)
        throw new PermanentError(
          `embedder: vector ${index} has ${vector.length} dimensions, expected ${this.dimensions}`,
          { code: 'dimension_mismatch', service: SERVICE },
        );
      vectors[index] = vector;
    }
    return { vectors, promptTokens: Number(res.usage?.prompt_tokens ?? 0), model: res.model || this.model };
  }

  async ping(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signals = [AbortSignal.timeout(this.pingTimeoutMs), ...(opts.signal ? [opts.signal] : [])];
    try {
      await this.client.models.list({ signal: AbortSignal.any(signals), timeout: this.pingTimeoutMs });
    } catch (e) {
      throw classifyOpenAiError(e);
    }
  }
}
