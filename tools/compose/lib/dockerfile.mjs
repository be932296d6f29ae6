// apps/<app>/Dockerfile: multi-stage from node:20-bookworm-slim, `nx run <app>:build`, a runtime stage
// with `npm ci --omit=dev`, non-root USER, EXPOSE = the app's port, HEALTHCHECK on /health/ready,
// CMD = the command start.mjs runs, runtime ENV names the app declares.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { same, show } from './report.mjs';

/** The stages of a Dockerfile: [{ image (ARGs substituted), name, instrs: [{ I, rest }] }]. */
export function parseDockerfile(file) {
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

/** Checks one app's Dockerfile; returns { cmd, exposed } for the compose checks, or null when missing. */
export function checkDockerfile({ root, app, cfg, start }, report) {
  const { check, section } = report;
  const rel = `apps/${app}/Dockerfile`;
  section(rel);
  const file = join(root, rel);
  if (!check(existsSync(file), `${rel} exists`)) return null;
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
      same(cmd, start.apps[app]),
      `${rel}: CMD is start.mjs's command`,
      `${show(cmd)} vs ${show(start.apps[app])}`,
    );
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
  return { cmd, exposed };
}

/** Every app's Dockerfile: app -> { cmd, exposed }. */
export function checkDockerfiles({ root, appNames, apps, start }, report) {
  const dockerfiles = new Map();
  for (const app of appNames) {
    const df = checkDockerfile({ root, app, cfg: apps.get(app), start }, report);
    if (df) dockerfiles.set(app, df);
  }
  return dockerfiles;
}
