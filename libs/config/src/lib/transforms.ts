import { Transform } from 'class-transformer';

/** Parses "true/false/1/0/yes/no" env strings into booleans (class-transformer's implicit conversion treats "false" as true). */
export function EnvBoolean(): PropertyDecorator {
  return Transform(({ obj, key }) => {
    // Read the raw string: implicit conversion would already have turned "false" into true.
    const value: unknown = (obj as Record<string, unknown>)[key];
    if (typeof value === 'boolean') return value;
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return value;
  });
}
