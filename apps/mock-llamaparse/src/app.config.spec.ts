import { ConfigError, loadConfig } from '@app/config';
import { MockLlamaParseConfig } from './app.config';

describe('MockLlamaParseConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig(MockLlamaParseConfig, {});
    expect(c).toMatchObject({
      MOCK_LLAMAPARSE_PORT: 8001,
      MOCK_LLAMAPARSE_HOST: '127.0.0.1',
      MOCK_LLAMAPARSE_CONCURRENCY: 4,
      MOCK_LLAMAPARSE_MAX_FILE_BYTES: 50 * 1024 * 1024,
      MOCK_LLAMAPARSE_JOB_TTL_MS: 3_600_000,
      MOCK_LLAMAPARSE_TIMEOUT_MS: 30_000,
      MOCK_LLAMAPARSE_ERROR_RATE: 0,
      MOCK_SEED: 1,
    });
    expect(c.MOCK_LLAMAPARSE_API_KEY).toBeUndefined();
  });

  it('converts numbers from the environment', () => {
    const c = loadConfig(MockLlamaParseConfig, { MOCK_LLAMAPARSE_PORT: '18001', MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE: '0.25' });
    expect(c.MOCK_LLAMAPARSE_PORT).toBe(18001);
    expect(c.MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE).toBe(0.25);
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig(MockLlamaParseConfig, { MOCK_LLAMAPARSE_ERROR_RATE: '1.5', MOCK_LLAMAPARSE_CONCURRENCY: '0', MOCK_SEED: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      'MOCK_LLAMAPARSE_CONCURRENCY',
      'MOCK_LLAMAPARSE_ERROR_RATE',
      'MOCK_SEED',
    ]);
  });
});
