// tools/dev/app-commands.json: the node commands npm start (tools/dev/start.mjs), the Dockerfiles'
// CMD and docker-compose.yml must all run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** { apps: { app: argv }, migrate: argv }, or null when start.mjs does not run them or the file is malformed. */
export function readStartCommands(root) {
  const startSrc = readFileSync(join(root, 'tools/dev/start.mjs'), 'utf8');
  if (!startSrc.includes('./app-commands.mjs')) return null; // npm start must run these commands
  const json = JSON.parse(readFileSync(join(root, 'tools/dev/app-commands.json'), 'utf8'));
  const ok = (c) => Array.isArray(c) && c[0] === 'node' && c.every((a) => typeof a === 'string');
  if (!ok(json.migrate) || !Object.values(json.apps ?? {}).every(ok)) return null;
  return { apps: json.apps, migrate: json.migrate };
}

/** Section "tools/dev/app-commands.json": returns the commands (null when unusable, reported). */
export function checkStartCommands({ root }, report) {
  const { check, note, section } = report;
  section('tools/dev/app-commands.json (what npm start, the benchmark and the tests run)');
  const start = readStartCommands(root);
  if (check(!!start, "app-commands.json: the apps' and the migration's node commands, read by start.mjs")) {
    for (const [app, cmd] of Object.entries(start.apps)) note(`${app}: ${cmd.join(' ')}`);
    note(`migrate: ${start.migrate.join(' ')}`);
  }
  return start;
}
