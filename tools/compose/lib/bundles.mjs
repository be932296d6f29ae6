// When dist/apps/<app>/main.js exists: every package the bundle requires is in "dependencies"
// (the images install `npm ci --omit=dev`).
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

/** The npm packages a webpack bundle requires at run time (builtins left out). */
export function bundlePackages(bundle) {
  const builtins = new Set(builtinModules);
  const ids = new Set(
    [...readFileSync(bundle, 'utf8').matchAll(/\brequire\("([^"./][^"]*)"\)/g)].map((m) => m[1]),
  );
  return [...ids]
    .filter((id) => !id.startsWith('node:') && !builtins.has(id.split('/')[0]))
    .map((id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]));
}

/** Section "runtime dependencies": one check per built bundle, a note per app not built. */
export function checkBundleDependencies({ root, appNames }, report) {
  const { check, note, section } = report;
  section('runtime dependencies (images install npm ci --omit=dev)');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  for (const app of appNames) {
    const bundle = join(root, 'dist/apps', app, 'main.js');
    if (!existsSync(bundle)) {
      note(`dist/apps/${app}/main.js not built: skipped (npx nx run ${app}:build)`);
      continue;
    }
    const pkgs = bundlePackages(bundle);
    const notProd = [...new Set(pkgs)].filter((p) => !deps.has(p));
    check(
      notProd.length === 0,
      `${app}: every package the bundle requires (${new Set(pkgs).size}) is in "dependencies"`,
      notProd.join(', '),
    );
  }
}
