// Parsing the compose file: js-yaml or yaml resolved from the repo root, else `docker compose config
// --format json`, else python3 + PyYAML.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const YAML_PARSERS = ['js-yaml', 'yaml', 'docker', 'python3'];

/**
 * Parses `file` with the first parser available (`only`: 'auto' or one of YAML_PARSERS).
 * Returns { how, raw, doc }: `raw` when `doc` is not yet interpolated (every parser but docker's).
 */
export function loadYaml(file, only, root) {
  const text = readFileSync(file, 'utf8');
  const req = createRequire(join(root, 'package.json'));
  const parsers = {
    'js-yaml': () => {
      const jy = req('js-yaml');
      // js-yaml 5's default (YAML 1.2 core) schema has no `<<` merge keys; compose files use them.
      const schema =
        jy.mergeTag && jy.CORE_SCHEMA?.withTags ? jy.CORE_SCHEMA.withTags(jy.mergeTag) : undefined;
      return { how: 'js-yaml', raw: true, doc: jy.load(text, schema ? { schema } : undefined) };
    },
    yaml: () => ({ how: 'yaml', raw: true, doc: req('yaml').parse(text, { merge: true }) }),
    docker: () => {
      const r = spawnSync('docker', ['compose', '-f', file, 'config', '--format', 'json'], {
        encoding: 'utf8',
      });
      if (r.error || r.status !== 0)
        throw Object.assign(new Error('docker compose config --format json failed'), { unavailable: true });
      return { how: 'docker compose config --format json', raw: false, doc: JSON.parse(r.stdout) };
    },
    python3: () => {
      const r = spawnSync(
        'python3',
        ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
        {
          input: text,
          encoding: 'utf8',
        },
      );
      if (r.error || r.status !== 0)
        throw Object.assign(new Error('python3 with PyYAML not available'), { unavailable: true });
      return { how: 'python3 + PyYAML', raw: true, doc: JSON.parse(r.stdout) };
    },
  };
  if (only !== 'auto') {
    if (!parsers[only]) throw new Error(`unknown --parser ${only}`);
    return parsers[only]();
  }
  for (const parse of Object.values(parsers)) {
    try {
      return parse();
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND' && !e.unavailable) throw e;
    }
  }
  throw new Error(
    'no YAML parser: js-yaml/yaml not resolvable, no docker compose v2, no python3 with PyYAML',
  );
}
