import { HttpException } from '@nestjs/common';

/** How a /v1 request ended, for GET /_mock/stats. */
export type Outcome =
  | 'ok'
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'rate_limited'
  | 'insufficient_quota'
  | 'injected_error'
  | 'injected_rate_limit'
  | 'injected_timeout'
  | 'server_error'
  | 'client_closed';

/** OpenAI's error object: `{"error": {message, type, param, code}}`. */
export interface OpenAIErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface OpenAIErrorBody {
  error: OpenAIErrorObject;
}

/** An HTTP error answered in OpenAI's shape, with optional extra response headers. */
export class OpenAIApiError extends HttpException {
  constructor(
    status: number,
    readonly error: OpenAIErrorObject,
    readonly outcome: Outcome,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super({ error } satisfies OpenAIErrorBody, status);
  }

  body(): OpenAIErrorBody {
    return { error: this.error };
  }
}

const API_REFERENCE = 'Please check the API reference: https://platform.openai.com/docs/api-reference.';

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): OpenAIApiError {
  return new OpenAIApiError(400, { message, type: 'invalid_request_error', param, code }, 'invalid_request');
}

export function invalidParam(param: string): OpenAIApiError {
  return invalidRequest(`'$.${param}' is invalid. ${API_REFERENCE}`, param, null);
}

export function invalidJson(): OpenAIApiError {
  return invalidRequest(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
      'The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
  );
}

export function unsupportedMediaType(contentType: string | undefined): OpenAIApiError {
  return new OpenAIApiError(
    415,
    {
      message: `Invalid Content-Type header (${contentType ?? 'none'}), expected application/json.`,
      type: 'invalid_request_error',
      param: null,
      code: 'unsupported_media_type',
    },
    'unsupported_media_type',
  );
}

export function payloadTooLarge(limit: string): OpenAIApiError {
  return new OpenAIApiError(
    413,
    { message: `Request body too large (limit ${limit}).`, type: 'invalid_request_error', param: null, code: 'payload_too_large' },
    'payload_too_large',
  );
}

export function missingApiKey(): OpenAIApiError {
  return new OpenAIApiError(
    401,
    {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
        '(i.e. Authorization: Bearer YOUR_KEY).',
      type: 'invalid_request_error',
      param: null,
      code: null,
    },
    'unauthorized',
  );
}

/** OpenAI shows the first 3 and last 4 characters of a wrong key. */
export function redactKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 32))}${key.slice(-4)}`;
}

export function invalidApiKey(key: string): OpenAIApiError {
  return new OpenAIApiError(
    401,
    {
      message: `Incorrect API key provided: ${redactKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_api_key',
    },
    'unauthorized',
  );
}

export function modelNotFound(model: string): OpenAIApiError {
  return new OpenAIApiError(
    404,
    {
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    },
    'not_found',
  );
}

export function routeNotFound(method: string, url: string): OpenAIApiError {
  return new OpenAIApiError(
    404,
    { message: `Invalid URL (${method} ${url})`, type: 'invalid_request_error', param: null, code: null },
    'not_found',
  );
}

/** retry-after (whole seconds, rounded up) and retry-after-ms, as OpenAI sends them. */
export function retryAfterHeaders(ms: number): Record<string, string> {
  const whole = Math.max(0, Math.ceil(ms));
  return { 'retry-after': String(Math.ceil(whole / 1000)), 'retry-after-ms': String(whole) };
}

export function rateLimitExceeded(
  message: string,
  kind: 'requests' | 'tokens',
  headers: Record<string, string>,
  outcome: Outcome = 'rate_limited',
): OpenAIApiError {
  return new OpenAIApiError(429, { message, type: kind, param: null, code: 'rate_limit_exceeded' }, outcome, headers);
}

export function insufficientQuota(): OpenAIApiError {
  return new OpenAIApiError(
    429,
    {
      message:
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        'read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      type: 'insufficient_quota',
      param: null,
      code: 'insufficient_quota',
    },
    'insufficient_quota',
  );
}

export function serverError(outcome: Outcome = 'server_error'): OpenAIApiError {
  return new OpenAIApiError(
    500,
    {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      param: null,
      code: null,
    },
    outcome,
  );
}

export function overloaded(outcome: Outcome): OpenAIApiError {
  return new OpenAIApiError(
    503,
    {
      message: 'The server is overloaded or not ready yet. Please try again later.',
      type: 'server_error',
      param: null,
      code: null,
    },
    outcome,
  );
}

export function gatewayTimeout(outcome: Outcome): OpenAIApiError {
  return new OpenAIApiError(
    504,
    { message: 'Request timed out.', type: 'server_error', param: null, code: 'timeout' },
    outcome,
  );
}

/** The same error with extra response headers. */
export function withHeaders(err: OpenAIApiError, headers: Record<string, string>): OpenAIApiError {
  return new OpenAIApiError(err.getStatus(), err.error, err.outcome, { ...err.headers, ...headers });
}
