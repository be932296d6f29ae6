// What each app reads: the UPPER_CASE properties of the class in apps/<app>/src/app.config.ts and
// of the classes it extends (DatabaseConfig, StorageConfig in libs/config), read with regexes.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { show } from './report.mjs';
import { classBody, findClassHead, locateClass } from './ts-source.mjs';

/** `export const NAME = '...'` string constants of a source text (the DEV_* secrets). */
function stringConsts(src) {
  const consts = new Map();
  for (const m of src.matchAll(/export\s+const\s+([A-Z][A-Z0-9_]*)\s*=\s*'([^']*)'/g)) consts.set(m[1], m[2]);
  return consts;
}

/** The UPPER_CASE properties declared in a class body, with what their decorators say. */
function ownProps(body) {
  const props = new Map();
  let decorators = [];
  for (const line of body.split('\n')) {
    const t = line.trim();
    if (t.startsWith('@')) {
      decorators.push(t);
      continue;
    }
    const m = /^(?:readonly\s+)?([A-Z][A-Z0-9_]*)(\?)?\s*:\s*([^=;]+?)\s*(?:=\s*(.+?))?;$/.exec(t);
    if (!m) continue;
    const [, name, q, type, def] = m;
    const cond = decorators.find((d) => d.startsWith('@ValidateIf'));
    const condMatch = cond && /\w+\.([A-Z][A-Z0-9_]*)\s*===\s*'([^']*)'/.exec(cond);
    props.set(name, {
      name,
      type: type.trim(),
      defaultExpr: def?.trim(),
      optional: !!q || decorators.some((d) => d.startsWith('@IsOptional')),
      requiredWhen: condMatch ? { name: condMatch[1], value: condMatch[2] } : null,
      boolean: decorators.some((d) => d.startsWith('@EnvBoolean')) || type.trim() === 'boolean',
    });
    decorators = [];
  }
  return props;
}

/**
 * Parses the first exported class of `file` (or class `name`) and, through `extends`, the classes
 * it inherits from, wherever they are declared (same file, relative import, tsconfig path such as
 * @app/config, re-exported from an index). Returns
 *   { className, props, consts, chain: [{ className, file }] }  (props: its own first, then inherited)
 *   { className?, error }                                        when a base class cannot be found
 *   null                                                         when the file has no such class
 */
export function parseConfigClass(file, root, name = undefined, seen = new Set()) {
  const src = readFileSync(file, 'utf8');
  const head = name ? findClassHead(src, name) : exportedClassHead(src);
  if (!head) return null;
  const key = `${file}#${head.name}`;
  if (seen.has(key)) return { className: head.name, error: `class ${head.name} extends itself` };
  seen.add(key);
  const own = { className: head.name, file: relative(root, file) };
  let base = { props: new Map(), consts: new Map(), chain: [] };
  if (head.base) {
    const where = locateClass(file, head.base, root);
    const parsed = where && parseConfigClass(where.file, root, where.name, seen);
    if (!parsed) return { className: head.name, error: `base class ${head.base} of ${head.name} not found` };
    if (parsed.error) return { className: head.name, error: parsed.error };
    base = parsed;
  }
  const props = ownProps(classBody(src, head.open));
  for (const [k, p] of base.props) if (!props.has(k)) props.set(k, p); // a redeclared property is the subclass's
  return {
    className: head.name,
    props,
    consts: new Map([...base.consts, ...stringConsts(src)]),
    chain: [own, ...base.chain],
  };
}

/** The first `export class` of a source text (the app's config class). */
function exportedClassHead(src) {
  const m = /export\s+(?:abstract\s+)?class\s+(\w+)/.exec(src);
  return m ? findClassHead(src, m[1]) : null;
}

/** A property's default as the app sees it (a string, like an env value), `<expr>` when computed at run time. */
export function defaultValue(prop, consts) {
  const d = prop.defaultExpr;
  if (d === undefined) return undefined;
  let m;
  if ((m = /^'([^']*)'$/.exec(d))) return m[1];
  if (consts.has(d)) return consts.get(d);
  if (/^[\d_\s*+()-]+$/.test(d)) return String(Function(`"use strict"; return (${d.replace(/_/g, '')});`)());
  if (d === 'true' || d === 'false') return d;
  return `<${d}>`; // computed at run time (e.g. WORKER_ID)
}

/** Why an env value does not fit a property's declared type (null when it does). */
export function valueProblem(prop, value) {
  const v = value.trim();
  if (prop.boolean)
    return /^(true|false|1|0|yes|no|on|off)$/i.test(v) ? null : `not a boolean: ${show(value)}`;
  if (prop.type === 'number')
    return v !== '' && Number.isFinite(Number(v)) ? null : `not a number: ${show(value)}`;
  const lits = [...prop.type.matchAll(/'([^']*)'/g)].map((x) => x[1]);
  if (lits.length && /^('[^']*'\s*\|?\s*)+$/.test(prop.type))
    return lits.includes(v) ? null : `not one of ${lits.join('|')}: ${show(value)}`;
  return null;
}

/** The apps: directories of apps/ with a project.json, sorted. */
export function listApps(root) {
  return readdirSync(join(root, 'apps'))
    .filter((a) => existsSync(join(root, 'apps', a, 'project.json')))
    .sort();
}

/**
 * Reads every app's config class (section "app config classes").
 * Returns app -> { className, props, consts, chain, portProp, hostProp, port, required }.
 */
export function readAppConfigs({ root, appNames }, report) {
  const { check, note, section } = report;
  const apps = new Map();
  section('app config classes');
  for (const app of appNames) {
    const file = join(root, 'apps', app, 'src', 'app.config.ts');
    if (!check(existsSync(file), `apps/${app}/src/app.config.ts exists`)) continue;
    const cfg = parseConfigClass(file, root);
    if (
      !check(
        !!cfg && !cfg.error && cfg.props.size > 0,
        `apps/${app}: config class parsed`,
        cfg?.error ?? 'no class with UPPER_CASE properties found',
      )
    )
      continue;
    const portProp = [...cfg.props.values()].find((p) => /(^|_)PORT$/.test(p.name));
    const hostProp = [...cfg.props.values()].find((p) => /(^|_)HOST$/.test(p.name));
    const port = portProp ? defaultValue(portProp, cfg.consts) : undefined;
    const required = [...cfg.props.values()].filter(
      (p) => p.defaultExpr === undefined && !p.optional && !p.requiredWhen,
    );
    note(
      `${app}: ${cfg.className}, ${cfg.props.size} variables, port ${portProp?.name}=${port}, required: ${required.map((p) => p.name).join(', ') || 'none'}`,
    );
    apps.set(app, { ...cfg, portProp, hostProp, port, required });
  }
  return apps;
}
