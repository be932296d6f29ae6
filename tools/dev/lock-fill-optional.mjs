#!/usr/bin/env node
// Registry quirk on this machine kind: the npm registry mirror serves only the linux-x64 builds of
// packages with per-platform optional dependencies (@swc/core-*, sass-embedded-*, @unrs/resolver-binding-*).
// `npm install` then leaves the other platforms out of package-lock.json, and npm 11's `npm ci` refuses
// the lock as "missing" them. This adds an entry for each such optional dependency, marked optional
// and restricted to a platform no machine has, so `npm ci` records it as present and skips it.
// Run after changing dependencies: `npm install && node tools/dev/lock-fill-optional.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const path = resolve(import.meta.dirname, '../../package-lock.json');
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [loc, meta] of Object.entries(pkgs)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = loc ? `${loc}/node_modules/${name}` : `node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (pkgs[base] || pkgs[top]) continue;
    const version = String(range).replace(/^[\^~=]/, '');
    pkgs[top] = { version, optional: true, ...(meta.dev ? { dev: true } : {}), os: ['none'], cpu: ['none'] };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform-only optional entries`);
