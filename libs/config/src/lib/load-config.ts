import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/** Thrown when the environment does not satisfy an app's config class; names every bad variable. */
export class ConfigError extends Error {
  constructor(
    readonly problems: { variable: string; value: unknown; messages: string[] }[],
    appName: string,
  ) {
    super(
      `Invalid configuration for ${appName}:\n` +
        problems
          .map(
            (p) =>
              `  - ${p.variable}${p.value === undefined ? ' (not set)' : ` = ${JSON.stringify(redact(p.variable, p.value))}`}: ${p.messages.join('; ')}`,
          )
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const SECRET_NAME = /SECRET|PASSWORD|KEY|TOKEN|DATABASE_URL/i;

function redact(variable: string, value: unknown): unknown {
  return SECRET_NAME.test(variable) ? '***' : value;
}

function flatten(errors: ValidationError[]): { variable: string; value: unknown; messages: string[] }[] {
  return errors.flatMap((e) => [
    ...(e.constraints ? [{ variable: e.property, value: e.value, messages: Object.values(e.constraints) }] : []),
    ...flatten(e.children ?? []),
  ]);
}

/**
 * Validates `env` against a class-validator class once, before the app is built.
 * Unknown variables are ignored; defaults come from the class's property initialisers.
 * Declare each property with its type (`PORT: number = 8000`): the type drives string conversion.
 * Empty strings count as "not set", so `FOO=` falls back to the default.
 */
export function loadConfig<T extends object>(
  cls: new () => T,
  env: Record<string, string | undefined>,
  appName = cls.name,
): T {
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') plain[k] = v;
  const instance = plainToInstance(cls, plain, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: false });
  if (errors.length)
    throw new ConfigError(
      flatten(errors).map((p) => ({ ...p, value: plain[p.variable] })),
      appName,
    );
  return Object.freeze(instance);
}

/**
 * Loads config or exits the process with a clear message (for an app's main.ts, before NestFactory).
 */
export function loadConfigOrExit<T extends object>(cls: new () => T, env: Record<string, string | undefined>, appName: string): T {
  try {
    return loadConfig(cls, env, appName);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
}
