#!/usr/bin/env node
// Checks docker-compose.yml and apps/*/Dockerfile against the code, without a Docker engine.
//
//   node tools/compose/check-compose.mjs [--file docker-compose.yml] [--env] [--parser js-yaml|yaml|docker|python3]
//
// What it checks (each line of output is one check; exit code 1 when any fails):
//  - `docker-compose -f <file> config -q` (Debian's compose v1) and `docker compose config -q` (v2),
//    when either is installed; skipped otherwise (the file is also parsed here, see below);
//  - the YAML itself (js-yaml or yaml resolved from the repo root, else `docker compose config
//    --format json`, else python3 + PyYAML), with ${VAR:-default} interpolated from the defaults
//    only (--env: from this process's environment, as compose would);
//  - each app's Dockerfile: multi-stage from node:20-bookworm-slim, `nx run <app>:build`, a runtime
//    stage with `npm ci --omit=dev`, non-root USER, EXPOSE = the app's port, HEALTHCHECK on
//    /health/ready, CMD = the command tools/dev/start.mjs runs, runtime ENV names the app declares;
//  - each compose service that runs an app: command = Dockerfile CMD = start.mjs's command (the
//    migrate job: start.mjs's migrate command), every environment variable is declared by that
//    app's config class (apps/<app>/src/app.config.ts, read with a regex), every required one is set,
//    values fit the declared types, hosts are 0.0.0.0, healthcheck on /health/ready at the app's port;
//  - the stack: pgvector postgres with pg_isready; migrate after a healthy postgres, restart "no";
//    api/worker after migrate completed; the worker has no fixed host port (so --scale works);
//    api and worker share storage (same volume at STORAGE_LOCAL_ROOT, same signing secret), one
//    DATABASE_URL and one embedding model/dimensions; URLs between containers name a service and
//    its port, never loopback; dev secrets are not combined with NODE_ENV=production;
//  - when dist/apps/<app>/main.js exists: every package the bundle requires is in "dependencies"
//    (the images install `npm ci --omit=dev`).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const { values: opts } = parseArgs({
  options: {
    file: { type: 'string', default: 'docker-compose.yml' },
    env: { type: 'boolean', default: false },
    // force one YAML parser (to exercise the fallbacks): js-yaml | yaml | docker | python3
    parser: { type: 'string', default: 'auto' },
  },
});
const composePath = resolve(root, opts.file);

// ---------------------------------------------------------------- reporting
let checks = 0;
const problems = [];
function check(ok, what, why = '') {
  checks++;
  if (ok) console.log(`ok    ${what}`);
  else {
    problems.push(`${what}${why ? `: ${why}` : ''}`);
    console.log(`FAIL  ${what}${why ? `: ${why}` : ''}`);
  }
  return ok;
}
const note = (m) => console.log(`--    ${m}`);
const section = (m) => console.log(`\n== ${m}`);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const show = (v) => JSON.stringify(v);

// ---------------------------------------------------------------- compose CLIs (optional)
section('compose CLIs');
function runCli(cmd, args, label) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  if (r.error && r.error.code === 'ENOENT') return note(`${label}: not installed, skipped`);
  if (r.error) return check(false, label, r.error.message);
  check(r.status === 0, label, (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | '));
}
runCli('docker-compose', ['-f', composePath, 'config', '-q'], `docker-compose -f ${opts.file} config -q`);
const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
if (!v2.error && v2.status === 0)
  runCli(
    'docker',
    ['compose', '-f', composePath, 'config', '-q'],
    `docker compose -f ${opts.file} config -q`,
  );
else note('docker compose (v2 plugin): not installed, skipped');

// ---------------------------------------------------------------- YAML
section(`parse ${opts.file}`);
function loadYaml(file, only) {
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

if (!existsSync(composePath)) {
  check(false, `${opts.file} exists`);
  finish();
}
let loaded;
try {
  loaded = loadYaml(composePath, opts.parser);
  check(typeof loaded.doc === 'object' && loaded.doc !== null, `${opts.file} parses (${loaded.how})`);
} catch (e) {
  check(false, `${opts.file} parses`, e.message);
  finish();
}

// Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}.
const interpEnv = opts.env ? process.env : {};
const noDefault = new Set();
function interpolate(s) {
  return s.replace(
    /\$\$|\$\{([A-Za-z_]\w*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_]\w*)/g,
    (m, name, op, arg, bare) => {
      if (m === '$$') return '$';
      const key = name ?? bare;
      const val = interpEnv[key];
      const unset = val === undefined;
      const empty = unset || val === '';
      switch (op) {
        case ':-':
          return empty ? interpolate(arg) : val;
        case '-':
          return unset ? interpolate(arg) : val;
        case ':+':
          return empty ? '' : interpolate(arg);
        case '+':
          return unset ? '' : interpolate(arg);
        case ':?':
        case '?':
          if (op === ':?' ? empty : unset) noDefault.add(`${key} (${arg || 'required'})`);
          return val ?? '';
        default:
          if (unset) noDefault.add(key);
          return val ?? '';
      }
    },
  );
}
function deepInterpolate(v) {
  if (typeof v === 'string') return interpolate(v);
  if (Array.isArray(v)) return v.map(deepInterpolate);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepInterpolate(x)]));
  return v;
}
const compose = loaded.raw ? deepInterpolate(loaded.doc) : loaded.doc;
const unmerged = [];
(function findMergeKeys(v, path) {
  if (Array.isArray(v)) v.forEach((x, i) => findMergeKeys(x, `${path}[${i}]`));
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === '<<') unmerged.push(path);
      else findMergeKeys(x, path ? `${path}.${k}` : k);
    }
})(compose, '');
check(unmerged.length === 0, 'YAML merge keys (<<) resolved', unmerged.join(', '));
if (loaded.raw) {
  note(
    `interpolated ${opts.env ? 'from the environment' : 'from the ${VAR:-default} defaults only (--env: from the environment)'}`,
  );
  check(noDefault.size === 0, 'every ${VAR} has a default', [...noDefault].join(', '));
}
const services = compose.services ?? {};

// ---------------------------------------------------------------- normalizers
const asEnv = (e) =>
  Array.isArray(e)
    ? Object.fromEntries(
        e.map((x) => (x.includes('=') ? [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)] : [x, ''])),
      )
    : Object.fromEntries(
        Object.entries(e ?? {}).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]),
      );
const asCommand = (c) =>
  c === undefined || c === null ? null : Array.isArray(c) ? c.map(String) : String(c).trim().split(/\s+/);
const asTest = (t) => (Array.isArray(t) ? t.join(' ') : String(t ?? ''));
function asPorts(ps) {
  return (ps ?? []).map((p) => {
    if (typeof p === 'object')
      return { host: p.published === undefined ? null : String(p.published), container: String(p.target) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return { host: parts.length > 1 ? parts[parts.length - 2] : null, container: parts[parts.length - 1] };
  });
}
function asDependsOn(d) {
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d ?? {}).map(([n, v]) => [n, v?.condition ?? 'service_started']));
}
function asVolumes(vs) {
  return (vs ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source, target: v.target };
    const [source, target] = String(v).split(':');
    return { source, target };
  });
}

// ---------------------------------------------------------------- app config classes
function parseConfigClass(file) {
  const src = readFileSync(file, 'utf8');
  const consts = new Map();
  for (const m of src.matchAll(/export\s+const\s+([A-Z][A-Z0-9_]*)\s*=\s*'([^']*)'/g)) consts.set(m[1], m[2]);
  const head = /export\s+class\s+(\w+)\s*\{/.exec(src);
  if (!head) return null;
  let depth = 0;
  let end = -1;
  for (let i = head.index + head[0].length - 1; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  const body = src.slice(head.index + head[0].length, end);
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
  return { className: head[1], props, consts };
}
function defaultValue(prop, consts) {
  const d = prop.defaultExpr;
  if (d === undefined) return undefined;
  let m;
  if ((m = /^'([^']*)'$/.exec(d))) return m[1];
  if (consts.has(d)) return consts.get(d);
  if (/^[\d_\s*+()-]+$/.test(d)) return String(Function(`"use strict"; return (${d.replace(/_/g, '')});`)());
  if (d === 'true' || d === 'false') return d;
  return `<${d}>`; // computed at run time (e.g. WORKER_ID)
}
function valueProblem(prop, value) {
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

const appNames = readdirSync(join(root, 'apps'))
  .filter((a) => existsSync(join(root, 'apps', a, 'project.json')))
  .sort();
const apps = new Map();
section('app config classes');
for (const app of appNames) {
  const file = join(root, 'apps', app, 'src', 'app.config.ts');
  if (!check(existsSync(file), `apps/${app}/src/app.config.ts exists`)) continue;
  const cfg = parseConfigClass(file);
  if (
    !check(
      !!cfg && cfg.props.size > 0,
      `apps/${app}: config class parsed`,
      'no class with UPPER_CASE properties found',
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

// ---------------------------------------------------------------- tools/dev/app-commands.json
section('tools/dev/app-commands.json (what npm start, the benchmark and the tests run)');
function startCommands() {
  const startSrc = readFileSync(join(root, 'tools/dev/start.mjs'), 'utf8');
  if (!startSrc.includes('./app-commands.mjs')) return null; // npm start must run these commands
  const json = JSON.parse(readFileSync(join(root, 'tools/dev/app-commands.json'), 'utf8'));
  const ok = (c) => Array.isArray(c) && c[0] === 'node' && c.every((a) => typeof a === 'string');
  if (!ok(json.migrate) || !Object.values(json.apps ?? {}).every(ok)) return null;
  return { apps: json.apps, migrate: json.migrate };
}
const start = startCommands();
if (check(!!start, "app-commands.json: the apps' and the migration's node commands, read by start.mjs")) {
  for (const [app, cmd] of Object.entries(start.apps)) note(`${app}: ${cmd.join(' ')}`);
  note(`migrate: ${start.migrate.join(' ')}`);
}
const startCommandFor = (app) => start?.apps[app];

// ---------------------------------------------------------------- Dockerfiles
function parseDockerfile(file) {
  const lines = readFileSync(file, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/);
  const args = new Map();
  const stages = [];
  for (const line of lines) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [, instr, rest] = /^(\w+)\s+([\s\S]*)$/.exec(t) ?? [];
    if (!instr) continue;
    const I = instr.toUpperCase();
    if (I === 'ARG' && !stages.length) {
      const [k, v] = rest.split('=');
      args.set(k.trim(), (v ?? '').trim());
      continue;
    }
    if (I === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest.replace(/--platform=\S+\s+/, ''));
      const image = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? '');
      stages.push({ image, name: m[2] ?? null, instrs: [] });
      continue;
    }
    stages.at(-1)?.instrs.push({ I, rest });
  }
  return stages;
}
const dockerfiles = new Map();
for (const app of appNames) {
  const rel = `apps/${app}/Dockerfile`;
  section(rel);
  const file = join(root, rel);
  if (!check(existsSync(file), `${rel} exists`)) continue;
  const stages = parseDockerfile(file);
  const final = stages.at(-1);
  const all = (I, s = final) => (s?.instrs ?? []).filter((x) => x.I === I);
  check(stages.length >= 2, `${rel}: multi-stage`, `${stages.length} FROM`);
  check(
    stages.every((s) => s.image === 'node:20-bookworm-slim'),
    `${rel}: every stage FROM node:20-bookworm-slim`,
    stages.map((s) => s.image).join(', '),
  );
  const build = stages.find((s) => s.name === 'build');
  check(
    !!build &&
      all('RUN', build).some((r) => r.rest.includes('npm ci')) &&
      all('RUN', build).some((r) => r.rest.includes(`nx run ${app}:build`)),
    `${rel}: stage "build" runs npm ci and nx run ${app}:build`,
  );
  check(
    all('RUN').some((r) => /npm ci\b.*--omit=dev/.test(r.rest)),
    `${rel}: runtime stage installs production dependencies (npm ci --omit=dev)`,
  );
  check(
    all('COPY').some((c) => c.rest.includes('--from=build') && c.rest.includes(`dist/apps/${app}`)),
    `${rel}: runtime stage copies dist/apps/${app} from the build stage`,
  );
  const user = all('USER').at(-1)?.rest.trim();
  check(
    !!user && !/^(root|0)(:|$)/.test(user),
    `${rel}: runs as a non-root USER`,
    `USER ${user ?? '(none)'}`,
  );
  const cmdLine = all('CMD').at(-1)?.rest;
  let cmd = null;
  try {
    cmd = JSON.parse(cmdLine);
  } catch {
    /* shell form */
  }
  check(Array.isArray(cmd), `${rel}: CMD in exec (JSON) form`, cmdLine);
  if (start)
    check(
      same(cmd, startCommandFor(app)),
      `${rel}: CMD is start.mjs's command`,
      `${show(cmd)} vs ${show(startCommandFor(app))}`,
    );
  const cfg = apps.get(app);
  const exposed = all('EXPOSE')
    .flatMap((e) => e.rest.split(/\s+/))
    .map((p) => p.replace(/\/tcp$/, ''));
  if (cfg?.port)
    check(
      exposed.includes(cfg.port),
      `${rel}: EXPOSE ${cfg.port} (${cfg.portProp.name} default)`,
      `EXPOSE ${exposed.join(' ')}`,
    );
  const hc = all('HEALTHCHECK').at(-1)?.rest ?? '';
  check(hc.includes('/health/ready'), `${rel}: HEALTHCHECK on /health/ready`, hc || '(none)');
  const envNames = all('ENV').flatMap((e) =>
    [...e.rest.matchAll(/(?:^|\s)([A-Za-z_]\w*)=/g)].map((m) => m[1]),
  );
  if (cfg) {
    const unknown = envNames.filter((n) => n !== 'NODE_ENV' && !cfg.props.has(n));
    check(
      unknown.length === 0,
      `${rel}: runtime ENV names are ${cfg.className} variables`,
      unknown.join(', '),
    );
  }
  dockerfiles.set(app, { cmd, exposed });
}

// ---------------------------------------------------------------- compose services
section(`${opts.file}: services`);
const wanted = ['postgres', 'migrate', 'api', 'worker', 'mock-llamaparse', 'mock-openai'];
for (const s of wanted) check(!!services[s], `service ${s} defined`);

function appOf(svc) {
  const cmd = asCommand(svc.command);
  const i = cmd?.findIndex((a) => /^dist\/apps\/[\w-]+\/main\.js$/.test(a)) ?? -1;
  if (i < 0) return null;
  return { app: cmd[i].split('/')[2], cmd, extra: cmd.slice(i + 1) };
}
const appServices = new Map(); // service name -> { app, env, cfg, role }
for (const [name, svc] of Object.entries(services)) {
  const a = appOf(svc);
  if (!a) continue;
  const cfg = apps.get(a.app);
  const role = a.extra[0] === 'migrate' ? 'migrate' : 'app';
  appServices.set(name, { ...a, env: asEnv(svc.environment), cfg, role, svc });
}
for (const [name, svc] of Object.entries(services)) {
  if (!appServices.has(name) && name !== 'postgres') {
    check(false, `service ${name}: command runs dist/apps/<app>/main.js`, show(svc.command));
  }
}
check(
  !!services.api &&
    !!services.worker &&
    !!services['mock-llamaparse'] &&
    !!services['mock-openai'] &&
    ['api', 'worker', 'mock-llamaparse', 'mock-openai'].every((s) => appServices.get(s)?.app === s),
  'services api, worker, mock-llamaparse, mock-openai run their own app',
);

// effective value of a variable in a service: its environment, else the config default
function effective(s, name) {
  if (s.env[name] !== undefined) return s.env[name];
  const p = s.cfg?.props.get(name);
  return p ? defaultValue(p, s.cfg.consts) : undefined;
}

for (const [name, s] of appServices) {
  section(`service ${name} (${s.app}${s.role === 'migrate' ? ', migrate job' : ''})`);
  const { svc, cfg } = s;
  if (!check(!!cfg, `${name}: app ${s.app} has a config class`)) continue;
  // command
  if (s.role === 'migrate') {
    check(s.app === 'api', `${name}: the migration runs the api bundle`);
    if (start)
      check(
        same(s.cmd, start.migrate),
        `${name}: command is start.mjs's migrate command`,
        `${show(s.cmd)} vs ${show(start.migrate)}`,
      );
    check(String(svc.restart ?? 'no') === 'no', `${name}: restart "no" (a one-shot job)`, show(svc.restart));
    check(
      asDependsOn(svc.depends_on).postgres === 'service_healthy',
      `${name}: depends on postgres being healthy`,
    );
  } else {
    const df = dockerfiles.get(s.app);
    check(
      same(s.cmd, df?.cmd),
      `${name}: command equals apps/${s.app}/Dockerfile CMD`,
      `${show(s.cmd)} vs ${show(df?.cmd)}`,
    );
    if (start)
      check(
        same(s.cmd, startCommandFor(s.app)),
        `${name}: command equals start.mjs's`,
        show(startCommandFor(s.app)),
      );
    check(svc.restart === 'unless-stopped', `${name}: restart unless-stopped`, show(svc.restart));
  }
  // image build
  const dockerfile =
    typeof svc.build === 'object' ? svc.build?.dockerfile : svc.build ? 'Dockerfile' : undefined;
  const context = typeof svc.build === 'object' ? svc.build?.context : svc.build;
  check(
    dockerfile === `apps/${s.app}/Dockerfile` && ['.', './', root].includes(String(context)),
    `${name}: built from apps/${s.app}/Dockerfile with the repo root as context`,
    `context ${show(context)}, dockerfile ${show(dockerfile)}`,
  );
  // environment
  const unknown = Object.keys(s.env).filter((k) => !cfg.props.has(k));
  check(unknown.length === 0, `${name}: every variable is declared by ${cfg.className}`, unknown.join(', '));
  const missing = cfg.required.filter((p) => !s.env[p.name]).map((p) => p.name);
  const condMissing = [...cfg.props.values()]
    .filter(
      (p) => p.requiredWhen && effective(s, p.requiredWhen.name) === p.requiredWhen.value && !s.env[p.name],
    )
    .map((p) => `${p.name} (required with ${p.requiredWhen.name}=${p.requiredWhen.value})`);
  check(
    missing.length + condMissing.length === 0,
    `${name}: required variables set (${cfg.required.map((p) => p.name).join(', ') || 'none'})`,
    [...missing, ...condMissing].join(', '),
  );
  const bad = Object.entries(s.env)
    .filter(([k]) => cfg.props.has(k))
    .map(([k, v]) => [k, valueProblem(cfg.props.get(k), v)])
    .filter(([, p]) => p);
  check(
    bad.length === 0,
    `${name}: values fit the declared types`,
    bad.map(([k, p]) => `${k} ${p}`).join('; '),
  );
  // listening
  if (s.role === 'app') {
    if (cfg.hostProp)
      check(
        effective(s, cfg.hostProp.name) === '0.0.0.0',
        `${name}: ${cfg.hostProp.name}=0.0.0.0 (reachable from other containers)`,
        show(effective(s, cfg.hostProp.name)),
      );
    const port = effective(s, cfg.portProp.name);
    s.port = port;
    const hc = asTest(svc.healthcheck?.test);
    check(
      hc.includes('/health/ready') && hc.includes(`:${port}/`),
      `${name}: healthcheck on /health/ready at port ${port}`,
      hc || '(none)',
    );
    const ports = asPorts(svc.ports);
    check(
      ports.every((p) => p.container === port),
      `${name}: published ports target ${cfg.portProp.name}=${port}`,
      show(ports),
    );
    check(
      dockerfiles.get(s.app)?.exposed.includes(port),
      `${name}: port ${port} is the one its Dockerfile EXPOSEs`,
    );
  } else {
    check(
      svc.healthcheck?.disable === true || !svc.healthcheck,
      `${name}: no healthcheck for the one-shot job`,
    );
  }
  if (effective(s, 'DATABASE_URL') !== undefined && s.role === 'app') {
    check(
      asDependsOn(svc.depends_on).migrate === 'service_completed_successfully',
      `${name}: starts after migrate completed successfully`,
    );
    check(
      effective(s, 'DB_MIGRATE_ON_START') !== undefined,
      `${name}: DB_MIGRATE_ON_START decided`,
      'unset: the app migrates on start too',
    );
  }
}

// ---------------------------------------------------------------- the stack as a whole
section(`${opts.file}: the stack`);
const pg = services.postgres;
if (pg) {
  check(/^pgvector\/pgvector:pg\d+/.test(String(pg.image)), 'postgres: pgvector image', pg.image);
  check(asTest(pg.healthcheck?.test).includes('pg_isready'), 'postgres: healthcheck with pg_isready');
  check(
    asVolumes(pg.volumes).some((v) => v.target === '/var/lib/postgresql/data'),
    'postgres: data on a volume',
  );
  check(pg.restart === 'unless-stopped', 'postgres: restart unless-stopped');
}
const worker = services.worker;
if (worker) {
  const fixed = asPorts(worker.ports).filter((p) => p.host !== null);
  check(
    fixed.length === 0,
    'worker: no fixed host port (docker compose up --scale worker=N works)',
    show(fixed),
  );
  check(!worker.container_name, 'worker: no container_name (it would prevent scaling)');
}
const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
for (const [name, svc] of Object.entries(services)) {
  for (const v of asVolumes(svc.volumes)) {
    if (!v.source || v.source.startsWith('.') || v.source.startsWith('/')) continue;
    check(declaredVolumes.has(v.source), `${name}: volume ${v.source} declared at top level`);
  }
}

const running = [...appServices.entries()].filter(([, s]) => s.role === 'app');
const byApp = (app) => running.find(([, s]) => s.app === app);
const dbUsers = [...appServices.entries()].filter(([, s]) => s.cfg?.props.has('DATABASE_URL'));
if (dbUsers.length) {
  const urls = new Set(dbUsers.map(([, s]) => effective(s, 'DATABASE_URL')));
  check(
    urls.size === 1,
    `DATABASE_URL identical in ${dbUsers.map(([n]) => n).join(', ')}`,
    [...urls].join(' / '),
  );
  try {
    const u = new URL([...urls][0]);
    check(
      !!services[u.hostname] && (u.port || '5432') === '5432',
      'DATABASE_URL points at the postgres service',
      u.host,
    );
    const pe = asEnv(pg?.environment);
    check(
      decodeURIComponent(u.username) === (pe.POSTGRES_USER ?? 'postgres') &&
        decodeURIComponent(u.password) === (pe.POSTGRES_PASSWORD ?? '') &&
        u.pathname.slice(1) === (pe.POSTGRES_DB ?? pe.POSTGRES_USER ?? 'postgres'),
      "DATABASE_URL's user, password and database are postgres's",
    );
  } catch (e) {
    check(false, 'DATABASE_URL is a URL', e.message);
  }
  for (const k of ['EMBEDDING_MODEL', 'EMBEDDING_VERSION', 'EMBEDDING_DIMENSIONS']) {
    const vals = new Set(dbUsers.filter(([, s]) => s.cfg.props.has(k)).map(([, s]) => effective(s, k)));
    check(vals.size === 1, `${k} identical in ${dbUsers.map(([n]) => n).join(', ')}`, [...vals].join(' / '));
  }
}
const storers = running.filter(([, s]) => s.cfg.props.has('STORAGE_DRIVER'));
if (storers.length) {
  for (const k of ['STORAGE_DRIVER', 'STORAGE_LOCAL_ROOT', 'STORAGE_SIGNING_SECRET', 'PUBLIC_BASE_URL']) {
    const vals = new Set(storers.map(([, s]) => effective(s, k)));
    check(vals.size === 1, `${k} identical in ${storers.map(([n]) => n).join(', ')}`, [...vals].join(' / '));
  }
  if (storers.every(([, s]) => effective(s, 'STORAGE_DRIVER') === 'local')) {
    const mounts = storers.map(([n, s]) =>
      asVolumes(services[n].volumes).find((v) => v.target === effective(s, 'STORAGE_LOCAL_ROOT')),
    );
    check(
      mounts.every((m) => m && declaredVolumes.has(m.source)) &&
        new Set(mounts.map((m) => m?.source)).size === 1,
      `one named volume mounted at STORAGE_LOCAL_ROOT in ${storers.map(([n]) => n).join(', ')}`,
      show(mounts),
    );
  }
  const api = byApp('api');
  if (api) {
    const pub = new URL(effective(api[1], 'PUBLIC_BASE_URL'));
    const published = asPorts(services[api[0]].ports).map((p) => p.host);
    if (['localhost', '127.0.0.1'].includes(pub.hostname)) {
      check(
        published.includes(pub.port || '80'),
        `PUBLIC_BASE_URL ${pub.origin} is the api's published port`,
        show(published),
      );
    }
  }
}

// URLs from one container to another name a service and its port, never loopback.
const serviceUrlVars = {
  WEBHOOK_BASE_URL: 'api',
  LLAMAPARSE_BASE_URL: 'mock-llamaparse',
  OPENAI_BASE_URL: 'mock-openai',
};
for (const [name, s] of running) {
  for (const [k, target] of Object.entries(serviceUrlVars)) {
    if (!s.cfg.props.has(k)) continue;
    const value = effective(s, k);
    let u;
    try {
      u = new URL(value);
    } catch {
      check(false, `${name}: ${k} is a URL`, value);
      continue;
    }
    const dest = byApp(target);
    const ok = !!dest && u.hostname === dest[0] && (u.port || '80') === dest[1].port;
    check(
      ok,
      `${name}: ${k}=${value} reaches service ${dest?.[0] ?? target} at its port ${dest?.[1].port ?? '?'}`,
    );
  }
  if (s.cfg.props.has('OPENAI_BASE_URL'))
    check(
      new URL(effective(s, 'OPENAI_BASE_URL')).pathname.replace(/\/$/, '') === '/v1',
      `${name}: OPENAI_BASE_URL ends in /v1`,
    );
}

// The api exits 78 on development secrets with NODE_ENV=production (assertProductionSafe).
for (const [name, s] of appServices) {
  if (effective(s, 'NODE_ENV') !== 'production') continue;
  const devSecrets = [...s.cfg.consts.entries()].filter(([c]) => /^DEV_/.test(c));
  const used = [...s.cfg.props.values()].filter(
    (p) =>
      devSecrets.some(([c]) => p.defaultExpr === c) && effective(s, p.name) === defaultValue(p, s.cfg.consts),
  );
  check(
    used.length === 0,
    `${name}: no development secret with NODE_ENV=production`,
    used.map((p) => p.name).join(', '),
  );
}

// ---------------------------------------------------------------- runtime dependencies of the bundles
section('runtime dependencies (images install npm ci --omit=dev)');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const deps = new Set(Object.keys(pkg.dependencies ?? {}));
const builtins = new Set(builtinModules);
for (const app of appNames) {
  const bundle = join(root, 'dist/apps', app, 'main.js');
  if (!existsSync(bundle)) {
    note(`dist/apps/${app}/main.js not built: skipped (npx nx run ${app}:build)`);
    continue;
  }
  const ids = new Set(
    [...readFileSync(bundle, 'utf8').matchAll(/\brequire\("([^"./][^"]*)"\)/g)].map((m) => m[1]),
  );
  const pkgs = [...ids]
    .filter((id) => !id.startsWith('node:') && !builtins.has(id.split('/')[0]))
    .map((id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]));
  const notProd = [...new Set(pkgs)].filter((p) => !deps.has(p));
  check(
    notProd.length === 0,
    `${app}: every package the bundle requires (${new Set(pkgs).size}) is in "dependencies"`,
    notProd.join(', '),
  );
}

finish();

function finish() {
  console.log(`\n${checks} checks, ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(problems.length ? 1 : 0);
}
