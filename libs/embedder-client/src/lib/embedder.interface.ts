/** Injection token of the Embedder. */
export const EMBEDDER = Symbol('EMBEDDER');

export interface EmbedOptions {
  /** Caller's signal (e.g. shutdown): aborts the budget wait, the request and any retries. */
  signal?: AbortSignal;
  /**
   * Total tokens of `inputs` if the caller already knows them (the chunker does): charged to the token-rate
   * budget instead of re-counting.
   */
  tokens?: number;
  /**
   * What these inputs belong to (a document id, a job id): the embedder's breaker counts repeated failures of one
   * key once (`ServicePolicy` `inputKey`), so one poison document cannot open it for everyone. Absent: the current
   * correlation id when the embedder was built with `inputKeyFromCorrelation` (the worker: one id per job), else none.
   */
  inputKey?: string;
}

export interface EmbedResult {
  /**
   * One vector per input, in input order, each with `dimensions` entries. The OpenAI driver gives `Float32Array`s: the
   * provider's float32 values as they came, held outside the JavaScript heap (a `number[]` of 1,536 is 12 kB of heap
   * that lives until finalize's commit, long enough for the GC to copy it into the old generation and mark it there).
   */
  vectors: ArrayLike<number>[];
  /** Tokens billed, as reported by the provider. */
  promptTokens: number;
  model: string;
}

/**
 * An embeddings provider (OpenAI or its mock). `embed` and `ping` reject only with TransientError (incl.
 * BreakerOpenError) or PermanentError from @app/circuit-breaker.
 */
export interface Embedder {
  readonly model: string;
  readonly dimensions: number;
  /** Max tokens of one input (8191). */
  readonly maxInputTokens: number;
  /** Max inputs per request (2048). */
  readonly maxInputs: number;
  /** Max tokens per request (300 000). */
  readonly maxTokensPerRequest: number;
  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult>;
  /** Tokens of `text` as the provider counts them (cl100k_base). */
  countTokens(text: string): number;
  /**
   * The same provider, credentials, breaker and token budget, asking for another model and vector size (e.g.
   * the model being re-embedded to). Calling it with this embedder's own model and dimensions returns this.
   */
  forModel(model: string, dimensions: number): Embedder;
  /** Reachability and credentials check for readiness; bypasses retries and the breaker. Rejects when not usable. */
  ping(opts?: { signal?: AbortSignal }): Promise<void>;
}
