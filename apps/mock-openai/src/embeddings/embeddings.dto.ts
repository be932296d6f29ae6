import { invalidParam, invalidRequest, modelNotFound } from '../common/openai-error';
import { EmbeddingModelSpec, findModel } from '../models/models.catalog';

/** OpenAI's limits for the embeddings endpoint. */
export const MAX_INPUTS = 2048;
/** Tokens of one input: 8192 for every embedding model (API reference: "8192 tokens for all embedding models"). */
export const MAX_INPUT_TOKENS = 8192;
export const MAX_REQUEST_TOKENS = 300_000;

export type EncodingFormat = 'float' | 'base64';

/** One input: text, or an array of token ids (as OpenAI accepts). */
export type EmbeddingInput = { kind: 'text'; text: string } | { kind: 'tokens'; tokens: number[] };

/** A request that passed the structural checks (token limits are checked after tokenizing). */
export interface EmbeddingsRequest {
  model: EmbeddingModelSpec;
  inputs: EmbeddingInput[];
  dimensions: number;
  encodingFormat: EncodingFormat;
  user?: string;
}

export interface EmbeddingObject {
  object: 'embedding';
  index: number;
  /** float: the numbers; base64: little-endian float32 bytes */
  embedding: number[] | string;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: EmbeddingObject[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

const KNOWN_PARAMS = new Set(['model', 'input', 'dimensions', 'encoding_format', 'user']);

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function invalidType(param: string, expected: string, value: unknown): never {
  throw invalidRequest(
    `Invalid type for '${param}': expected ${expected}, but got ${jsonType(value)} instead.`,
    param,
    'invalid_type',
  );
}

function isTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function tokenArray(value: unknown[]): number[] {
  if (value.length === 0 || !value.every(isTokenId)) throw invalidParam('input');
  return value;
}

function parseInput(input: unknown): EmbeddingInput[] {
  if (input === undefined || input === null) {
    throw invalidRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  if (typeof input === 'string') {
    if (input.length === 0) throw invalidParam('input');
    return [{ kind: 'text', text: input }];
  }
  if (!Array.isArray(input)) invalidType('input', 'a string or an array', input);
  if (input.length === 0) throw invalidParam('input');
  if (input.every((v) => typeof v === 'number')) return [{ kind: 'tokens', tokens: tokenArray(input) }];
  if (input.length > MAX_INPUTS) {
    throw invalidRequest(
      `Invalid 'input': array too long. Expected an array with maximum length ${MAX_INPUTS}, but got an array with length ${input.length} instead.`,
      'input',
      'array_above_max_length',
    );
  }
  if (input.every((v) => typeof v === 'string')) {
    if (input.some((v) => v.length === 0)) throw invalidParam('input');
    return input.map((text) => ({ kind: 'text', text }));
  }
  if (input.every((v) => Array.isArray(v))) return input.map((v) => ({ kind: 'tokens', tokens: tokenArray(v) }));
  throw invalidParam('input');
}

function parseDimensions(value: unknown, model: EmbeddingModelSpec): number {
  if (value === undefined || value === null) return model.nativeDimensions;
  if (typeof value !== 'number' || !Number.isInteger(value)) invalidType('dimensions', 'an integer', value);
  if (!model.supportsDimensions) throw invalidRequest('This model does not support specifying dimensions.', 'dimensions');
  if (value < 1) {
    throw invalidRequest(`Invalid value for 'dimensions' = ${value}. Must be greater than or equal to 1.`, 'dimensions', 'invalid_value');
  }
  if (value > model.nativeDimensions) {
    throw invalidRequest(
      `Invalid value for 'dimensions' = ${value}. Must be less than or equal to ${model.nativeDimensions}.`,
      'dimensions',
      'invalid_value',
    );
  }
  return value;
}

function parseEncodingFormat(value: unknown): EncodingFormat {
  if (value === undefined || value === null) return 'float';
  if (value === 'float' || value === 'base64') return value;
  if (typeof value !== 'string') invalidType('encoding_format', 'a string', value);
  throw invalidRequest(
    `Invalid value: '${value}'. Supported values are: 'float' and 'base64'.`,
    'encoding_format',
    'invalid_value',
  );
}

/**
 * Checks the body of POST /v1/embeddings as OpenAI does: shape and types first (400), then the
 * model (404 model_not_found), then `dimensions` against the model (400).
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  if (body === undefined) body = {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest(`Invalid request body: expected a JSON object, but got ${jsonType(body)} instead.`);
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((k) => !KNOWN_PARAMS.has(k));
  if (unknown !== undefined) throw invalidRequest(`Unrecognized request argument supplied: ${unknown}`, unknown, 'unknown_parameter');
  const { model: modelId, input, dimensions, encoding_format: encodingFormat, user } = fields;
  if (modelId === undefined || modelId === null || modelId === '') {
    throw invalidRequest('you must provide a model parameter', 'model', 'missing_required_parameter');
  }
  if (typeof modelId !== 'string') invalidType('model', 'a string', modelId);
  const inputs = parseInput(input);
  if (dimensions !== undefined && dimensions !== null && (typeof dimensions !== 'number' || !Number.isInteger(dimensions))) {
    invalidType('dimensions', 'an integer', dimensions);
  }
  const format = parseEncodingFormat(encodingFormat);
  if (user !== undefined && user !== null && typeof user !== 'string') invalidType('user', 'a string', user);
  const model = findModel(modelId);
  if (!model) throw modelNotFound(modelId);
  return {
    model,
    inputs,
    dimensions: parseDimensions(dimensions, model),
    encodingFormat: format,
    ...(typeof user === 'string' ? { user } : {}),
  };
}
