import { OpenAIApiError } from '../common/openai-error';
import { MAX_INPUTS, parseEmbeddingsRequest } from './embeddings.dto';

function errorOf(body: unknown): OpenAIApiError {
  try {
    parseEmbeddingsRequest(body);
  } catch (e) {
    if (e instanceof OpenAIApiError) return e;
    throw e;
  }
  throw new Error('expected an OpenAIApiError');
}

const model = 'text-embedding-3-small';

describe('parseEmbeddingsRequest', () => {
  it('accepts a string, string[], number[] and number[][] input', () => {
    expect(parseEmbeddingsRequest({ model, input: 'hi' }).inputs).toEqual([{ kind: 'text', text: 'hi' }]);
    expect(parseEmbeddingsRequest({ model, input: ['a', 'b'] }).inputs).toHaveLength(2);
    expect(parseEmbeddingsRequest({ model, input: [1, 2, 3] }).inputs).toEqual([{ kind: 'tokens', tokens: [1, 2, 3] }]);
    expect(parseEmbeddingsRequest({ model, input: [[1], [2, 3]] }).inputs).toEqual([
      { kind: 'tokens', tokens: [1] },
      { kind: 'tokens', tokens: [2, 3] },
    ]);
  });

  it('defaults dimensions to the native size and encoding to float', () => {
    const r = parseEmbeddingsRequest({ model: 'text-embedding-3-large', input: 'x', encoding_format: null, dimensions: null });
    expect(r.dimensions).toBe(3072);
    expect(r.encodingFormat).toBe('float');
    expect(parseEmbeddingsRequest({ model, input: 'x', encoding_format: 'base64', dimensions: 8, user: 'u' })).toMatchObject({
      dimensions: 8,
      encodingFormat: 'base64',
      user: 'u',
    });
  });

  it('allows a single token array longer than the input count limit', () => {
    const tokens = Array.from({ length: MAX_INPUTS + 10 }, () => 15339);
    expect(parseEmbeddingsRequest({ model, input: tokens }).inputs).toHaveLength(1);
  });

  it.each([
    ['empty string', { model, input: '' }, 400, null, 'input'],
    ['an empty string in a list', { model, input: ['a', ''] }, 400, null, 'input'],
    ['empty list', { model, input: [] }, 400, null, 'input'],
    ['empty token list', { model, input: [[1], []] }, 400, null, 'input'],
    ['negative token', { model, input: [1, -2] }, 400, null, 'input'],
    ['fractional token', { model, input: [1.5] }, 400, null, 'input'],
    ['mixed input', { model, input: ['a', 1] }, 400, null, 'input'],
    ['object input', { model, input: { a: 1 } }, 400, 'invalid_type', 'input'],
    ['missing input', { model }, 400, 'missing_required_parameter', 'input'],
    ['too many inputs', { model, input: Array.from({ length: MAX_INPUTS + 1 }, () => 'a') }, 400, 'array_above_max_length', 'input'],
    ['missing model', { input: 'a' }, 400, 'missing_required_parameter', 'model'],
    ['non-string model', { model: 3, input: 'a' }, 400, 'invalid_type', 'model'],
    ['unknown model', { model: 'gpt-9', input: 'a' }, 404, 'model_not_found', null],
    ['unknown argument', { model, input: 'a', foo: 1 }, 400, 'unknown_parameter', 'foo'],
    ['dimensions on ada-002', { model: 'text-embedding-ada-002', input: 'a', dimensions: 10 }, 400, null, 'dimensions'],
    ['dimensions 0', { model, input: 'a', dimensions: 0 }, 400, 'invalid_value', 'dimensions'],
    ['dimensions above native', { model, input: 'a', dimensions: 1537 }, 400, 'invalid_value', 'dimensions'],
    ['dimensions not an integer', { model, input: 'a', dimensions: 2.5 }, 400, 'invalid_type', 'dimensions'],
    ['bad encoding_format', { model, input: 'a', encoding_format: 'int8' }, 400, 'invalid_value', 'encoding_format'],
    ['non-string user', { model, input: 'a', user: 7 }, 400, 'invalid_type', 'user'],
    ['array body', [1, 2], 400, null, null],
    ['null body', null, 400, null, null],
  ])('rejects %s', (_name, body, status, code, param) => {
    const e = errorOf(body);
    expect(e.getStatus()).toBe(status);
    expect(e.error.code).toBe(code);
    expect(e.error.param).toBe(param);
    expect(e.error.type).toBe('invalid_request_error');
    expect(e.error.message.length).toBeGreaterThan(0);
  });

  it('treats a missing body as a missing model', () => {
    expect(errorOf(undefined).error.message).toBe('you must provide a model parameter');
  });

  it('accepts text-embedding-3-large dimensions up to 3072', () => {
    expect(parseEmbeddingsRequest({ model: 'text-embedding-3-large', input: 'a', dimensions: 3072 }).dimensions).toBe(3072);
    expect(errorOf({ model: 'text-embedding-3-large', input: 'a', dimensions: 3073 }).getStatus()).toBe(400);
  });
});
