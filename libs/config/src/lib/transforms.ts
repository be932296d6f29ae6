import { IsBoolean } from 'class-validator';
import { Transform } from 'class-transformer';

/** Parses "true/false/1/0/yes/no" env strings into booleans (class-transformer's implicit conversion treats "false" as true). */
export function EnvBoolean(): PropertyDecorator {
  const transform = Transform(({ obj, key }) => {
    // Read the raw string: implicit conversion would already have turned "false" into true.
    const value: unknown = (obj as Record<string, unknown>)[key];
    if (typeof value === 'boolean') return value;
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return value;
  });
  // The validator is part of the decorator: loadConfig validates with `whitelist`, which strips every property
  // without a class-validator decorator, so a bare @EnvBoolean() field would always read undefined.
  const validate = IsBoolean({ message: ({ property }) => `${property} must be true or false (also 1/0, yes/no, on/off)` });
  return (target, key) => {
    transform(target, key);
    validate(target, key);
  };
}
