// The apps' commands from tools/dev/app-commands.json, for the tools that start the apps (npm start, the
// benchmark, the chaos tool). The worker's integration tests read the JSON themselves (apps/worker/test/stack.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = join(import.meta.dirname, 'app-commands.json');

/** `{ apps: { <app>: ['node', ...flags, 'dist/apps/<app>/main.js'] }, migrate: [...] }` */
export const APP_COMMANDS = JSON.parse(readFileSync(FILE, 'utf8'));

/** The node flags of `app` in `commands` (read from `file`): its command without `node` and the bundle. */
function flagsOf(commands, file, app) {
  const cmd = commands.apps[app];
  if (!cmd) throw new Error(`${file} has no command for ${app}`);
  return cmd.slice(1, -1);
}

/** The node flags `app` ships with. */
export function appNodeFlags(app) {
  return flagsOf(APP_COMMANDS, 'tools/dev/app-commands.json', app);
}

/**
 * The node flags `app` ships with in another checkout (`root`: its tools/dev/app-commands.json), for the benchmark's
 * `--app-root`; a checkout from before that file existed gets this one's.
 */
export function appNodeFlagsAt(root, app) {
  const file = join(root, 'tools/dev/app-commands.json');
  if (!existsSync(file)) return appNodeFlags(app);
  return flagsOf(JSON.parse(readFileSync(file, 'utf8')), file, app);
}
