#!/usr/bin/env node
// Checks docker-compose.yml and apps/*/Dockerfile against the code, without a Docker engine.
//
//   node tools/compose/check-compose.mjs [--file docker-compose.yml] [--env] [--parser js-yaml|yaml|docker|python3]
//
// What it checks (each line of output is one check; exit code 1 when any fails; the last line is
// "<n> checks, <m> problems", which tools/test/run-all.mjs reports):
//  - `docker-compose -f <file> config -q` (Debian's compose v1) and `docker compose config -q` (v2),
//    when either is installed; skipped otherwise (the file is also parsed here, see below)
//    [lib/compose-cli.mjs];
//  - the YAML itself (js-yaml or yaml resolved from the repo root, else `docker compose config
//    --format json`, else python3 + PyYAML), with ${VAR:-default} interpolated from the defaults
//    only (--env: from this process's environment, as compose would) [lib/compose-file.mjs,
//    lib/yaml.mjs, lib/interpolate.mjs];
//  - what each app reads: the UPPER_CASE properties of its config class (apps/<app>/src/app.config.ts)
//    and of the classes it extends (libs/config's DatabaseConfig and StorageConfig, found through the
//    imports and tsconfig.base.json's paths), read with regexes [lib/config-classes.mjs, lib/ts-source.mjs];
//  - the node commands of tools/dev/app-commands.json, which npm start runs [lib/app-commands.mjs];
//  - each app's Dockerfile: multi-stage from node:20-bookworm-slim, `nx run <app>:build`, a runtime
//    stage with `npm ci --omit=dev`, non-root USER, EXPOSE = the app's port, HEALTHCHECK on
//    /health/ready, CMD = the command tools/dev/start.mjs runs, runtime ENV names the app declares
//    [lib/dockerfile.mjs];
//  - each compose service that runs an app: command = Dockerfile CMD = start.mjs's command (the
//    migrate job: start.mjs's migrate command), every environment variable is declared by that
//    app's config class, every required one is set, values fit the declared types, hosts are
//    0.0.0.0, healthcheck on /health/ready at the app's port [lib/services.mjs];
//  - the stack: pgvector postgres with pg_isready; migrate after a healthy postgres, restart "no";
//    api/worker after migrate completed; the worker has no fixed host port (so --scale works);
//    api and worker share storage (same volume at STORAGE_LOCAL_ROOT, same signing secret), one
//    DATABASE_URL and one embedding model/dimensions; URLs between containers name a service and
//    its port, never loopback; dev secrets are not combined with NODE_ENV=production [lib/stack.mjs];
//  - when dist/apps/<app>/main.js exists: every package the bundle requires is in "dependencies"
//    (the images install `npm ci --omit=dev`) [lib/bundles.mjs].
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkStartCommands } from './lib/app-commands.mjs';
import { checkBundleDependencies } from './lib/bundles.mjs';
import { checkComposeClis } from './lib/compose-cli.mjs';
import { loadComposeFile } from './lib/compose-file.mjs';
import { listApps, readAppConfigs } from './lib/config-classes.mjs';
import { checkDockerfiles } from './lib/dockerfile.mjs';
import { createReport } from './lib/report.mjs';
import { checkServices } from './lib/services.mjs';
import { checkStack } from './lib/stack.mjs';

const root = resolve(import.meta.dirname, '../..');
const { values: opts } = parseArgs({
  options: {
    file: { type: 'string', default: 'docker-compose.yml' },
    env: { type: 'boolean', default: false },
    // force one YAML parser (to exercise the fallbacks): js-yaml | yaml | docker | python3
    parser: { type: 'string', default: 'auto' },
  },
});

const report = createReport();
const ctx = {
  root,
  file: opts.file,
  composePath: resolve(root, opts.file),
  parser: opts.parser,
  useEnv: opts.env,
  env: process.env,
};

checkComposeClis(ctx, report);
const compose = loadComposeFile(ctx, report);
if (!compose) report.finish();
const services = compose.services ?? {};

const appNames = listApps(root);
const apps = readAppConfigs({ root, appNames }, report);
const start = checkStartCommands({ root }, report);
const dockerfiles = checkDockerfiles({ root, appNames, apps, start }, report);
const appServices = checkServices({ root, file: opts.file, services, apps, start, dockerfiles }, report);
checkStack({ file: opts.file, compose, services, appServices }, report);
checkBundleDependencies({ root, appNames }, report);

report.finish();
