import { ConfigError, loadConfig } from '@app/config';
import { AppConfig } from './app.config';

describe('AppConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig(AppConfig, {});
    expect(c).toMatchObject({
      MOCK_OPENAI_PORT: 8002,
      MOCK_OPENAI_HOST: '127.0.0.1',
      MOCK_OPENAI_API_KEY: '',
      MOCK_OPENAI_QUOTA_EXHAUSTED: false,
      MOCK_OPENAI_LATENCY_MS: 0,
      MOCK_OPENAI_ERROR_RATE: 0,
      MOCK_OPENAI_TIMEOUT_MS: 30_000,
      MOCK_OPENAI_BODY_LIMIT: '50mb',
    });
  });

  it('converts env strings', () => {
    const c = loadConfig(AppConfig, {
      MOCK_OPENAI_PORT: '18002',
      MOCK_OPENAI_ERROR_RATE: '0.25',
      MOCK_OPENAI_QUOTA_EXHAUSTED: 'true',
      MOCK_SEED: '99',
    });
    expect(c).toMatchObject({ MOCK_OPENAI_PORT: 18002, MOCK_OPENAI_ERROR_RATE: 0.25, MOCK_OPENAI_QUOTA_EXHAUSTED: true, MOCK_SEED: 99 });
  });

  it('rejects bad values and fault rates that sum past 1', () => {
    expect(() => loadConfig(AppConfig, { MOCK_OPENAI_ERROR_RATE: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig(AppConfig, { MOCK_OPENAI_RPM: '0' })).toThrow(ConfigError);
    expect(() => loadConfig(AppConfig, { MOCK_OPENAI_QUOTA_EXHAUSTED: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig(AppConfig, { MOCK_OPENAI_ERROR_RATE: '0.6', MOCK_OPENAI_TIMEOUT_RATE: '0.6' })).toThrow(
      /must be <= 1/,
    );
  });
});
