// Loading docker-compose.yml: parse, interpolate, and the checks on the file as YAML.
import { existsSync } from 'node:fs';
import { createInterpolator, findMergeKeys } from './interpolate.mjs';
import { loadYaml } from './yaml.mjs';

/**
 * Parses and interpolates the compose file (with --env from `ctx.env`, else the defaults only).
 * Returns the interpolated document, or null when it is missing or does not parse (already reported).
 */
export function loadComposeFile(ctx, report) {
  const { root, composePath, file, parser, useEnv, env } = ctx;
  const { check, note, section } = report;
  section(`parse ${file}`);
  if (!existsSync(composePath)) {
    check(false, `${file} exists`);
    return null;
  }
  let loaded;
  try {
    loaded = loadYaml(composePath, parser, root);
    check(typeof loaded.doc === 'object' && loaded.doc !== null, `${file} parses (${loaded.how})`);
  } catch (e) {
    check(false, `${file} parses`, e.message);
    return null;
  }
  const { deepInterpolate, noDefault } = createInterpolator(useEnv ? env : {});
  const compose = loaded.raw ? deepInterpolate(loaded.doc) : loaded.doc;
  const unmerged = findMergeKeys(compose);
  check(unmerged.length === 0, 'YAML merge keys (<<) resolved', unmerged.join(', '));
  if (loaded.raw) {
    note(
      `interpolated ${useEnv ? 'from the environment' : 'from the ${VAR:-default} defaults only (--env: from the environment)'}`,
    );
    check(noDefault.size === 0, 'every ${VAR} has a default', [...noDefault].join(', '));
  }
  return compose;
}
