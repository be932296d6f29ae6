import { codeForStatus, reasonPhrase } from './error-codes';

describe('codeForStatus', () => {
  it.each([
    [400, 'bad_request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [409, 'conflict'],
    [413, 'payload_too_large'],
    [415, 'unsupported_media_type'],
    [422, 'unprocessable_entity'],
    [429, 'rate_limited'],
    [500, 'internal_error'],
    [503, 'unavailable'],
  ])('%i -> %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });

  it('derives snake_case codes from reason phrases for unlisted statuses', () => {
    expect(codeForStatus(418)).toBe('i_m_a_teapot');
    expect(codeForStatus(451)).toBe('unavailable_for_legal_reasons');
  });

  it('falls back by class for unknown statuses', () => {
    expect(codeForStatus(499)).toBe('bad_request');
    expect(codeForStatus(599)).toBe('internal_error');
    expect(reasonPhrase(599)).toBe('Error');
  });
});
