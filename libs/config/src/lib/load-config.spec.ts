import { IsBoolean, IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { ConfigError, loadConfig } from './load-config';
import { EnvBoolean } from './transforms';

class SampleConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  API_PORT: number = 8000;

  @IsString()
  @MinLength(16)
  JWT_SECRET: string = 'development-secret-0123456789';

  @EnvBoolean()
  @IsBoolean()
  FLAG: boolean = false;
}

/** Booleans declared with @EnvBoolean() alone, defaulting to true and false. */
class BareBooleans {
  @EnvBoolean()
  ON_BY_DEFAULT: boolean = true;

  @EnvBoolean()
  OFF_BY_DEFAULT: boolean = false;
}

describe('loadConfig', () => {
  it('regression: a bare @EnvBoolean() keeps its default when unset and reads the value when set', () => {
    // validateSync's whitelist stripped fields without a class-validator decorator: they were always undefined
    expect(loadConfig(BareBooleans, {})).toMatchObject({ ON_BY_DEFAULT: true, OFF_BY_DEFAULT: false });
    expect(loadConfig(BareBooleans, { ON_BY_DEFAULT: 'off', OFF_BY_DEFAULT: 'yes' })).toMatchObject({ ON_BY_DEFAULT: false, OFF_BY_DEFAULT: true });
    expect(() => loadConfig(BareBooleans, { ON_BY_DEFAULT: 'maybe' }, 'app')).toThrow(/ON_BY_DEFAULT must be true or false/);
  });

  it('applies defaults when variables are missing or empty', () => {
    const c = loadConfig(SampleConfig, { API_PORT: '' });
    expect(c.API_PORT).toBe(8000);
    expect(c.FLAG).toBe(false);
  });

  it('converts numbers and booleans from strings', () => {
    const c = loadConfig(SampleConfig, { API_PORT: '9001', FLAG: 'true' });
    expect(c.API_PORT).toBe(9001);
    expect(c.FLAG).toBe(true);
    expect(loadConfig(SampleConfig, { FLAG: 'false' }).FLAG).toBe(false);
  });

  it('names every bad variable and redacts secrets', () => {
    let err: unknown;
    try {
      loadConfig(SampleConfig, { API_PORT: 'abc', JWT_SECRET: 'short', FLAG: 'maybe' }, 'api');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('Invalid configuration for api');
    expect(msg).toContain('API_PORT');
    expect(msg).toContain('JWT_SECRET = "***"');
    expect(msg).not.toContain('short');
    expect(msg).toContain('FLAG');
    expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['API_PORT', 'FLAG', 'JWT_SECRET']);
  });

  it('returns a frozen object', () => {
    const c = loadConfig(SampleConfig, {});
    expect(Object.isFrozen(c)).toBe(true);
  });
});
