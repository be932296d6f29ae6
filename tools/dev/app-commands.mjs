// The apps' commands from tools/dev/app-commands.json, for the tools that start the apps (npm start, the
// benchmark, the chaos tool). The worker's integration tests read the JSON themselves (apps/worker/test/stack.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `{ apps: { <app>: ['node', ...flags, 'dist/apps/<app>/main.js'] }, migrate: [...] }` */
export const APP_COMMANDS = JSON.parse(readFileSync(join(import.meta.dirname, 'app-commands.json'), 'utf8'));

/** The node flags `app` ships with: its command without `node` and the bundle. */
export function appNodeFlags(app) {
  const cmd = APP_COMMANDS.apps[app];
  if (!cmd) throw new Error(`tools/dev/app-commands.json has no command for ${app}`);
  return cmd.slice(1, -1);
}

/**
 * The node flags `app` ships with in another checkout (`root`: its tools/dev/app-commands.json), for the benchmark's
 * `--app-root`; a checkout from before that file existed gets this one's.
 */
export function appNodeFlagsAt(root, app) {
  const file = join(root, 'tools/dev/app-commands.json');
  if (!existsSync(file)) return appNodeFlags(app);
  const cmd = JSON.parse(readFileSync(file, 'utf8')).apps[app];
  if (!cmd) throw new Error(`${file} has no command for ${app}`);
  return cmd.slice(1, -1);
}
