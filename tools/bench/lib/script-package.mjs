// Which package a profiled script belongs to, for the profile summaries (profile-summary.mjs, perf-summary.mjs).

/**
 * `node:<module>` for Node's own (`node:internal/...` -> `node:internal`), the package of a path in `node_modules`
 * (scoped ones with their scope), `(app bundle: our code)` for an app's webpack bundle, else the path itself.
 */
export function scriptPackage(url) {
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (/dist\/apps\/[^/]+\/main\.js$/.test(url)) return '(app bundle: our code)';
  return url.replace(/^file:\/\//, '');
}
