// `npm test`: one PostgreSQL for the whole run (embedded unless DATABASE_URL is set), then every
// project's lint, typecheck and tests through Nx, then one summary line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbeddedPostgres } from '../dev/embedded-pg.mjs';

const root = resolve(import.meta.dirname, '../..');
const resultsDir = join(root, 'tmp', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });

let pg;
const env = { ...process.env, INGEST_TEST_RESULTS_DIR: resultsDir };
if (process.env.DATABASE_URL) {
  env.INGEST_TEST_ADMIN_URL = process.env.DATABASE_URL;
  console.log(`[test] using DATABASE_URL for integration tests`);
} else {
  const dataDir = mkdtempSync(join(tmpdir(), 'ingest-test-pg-'));
  pg = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  env.INGEST_TEST_ADMIN_URL = pg.url;
  console.log(`[test] embedded PostgreSQL on port ${pg.port}`);
}

const extra = process.argv.slice(2);
const targets = extra.includes('--no-lint') ? 'test' : 'lint,typecheck,test';
const args = ['nx', 'run-many', '-t', targets, '--outputStyle=static', ...extra.filter((a) => a !== '--no-lint')];
// Every run is a real run: cached results would hide what the suite does now.
args.push('--skip-nx-cache');

const code = await new Promise((res) => {
  const child = spawn('npx', args, { cwd: root, env, stdio: 'inherit' });
  child.on('exit', (c, sig) => res(c ?? (sig ? 1 : 0)));
});
await pg?.stop().catch(() => undefined);

// docker-compose.yml and the Dockerfiles must agree with what the apps read and run (no engine needed).
const compose = await new Promise((res) => {
  const child = spawn('node', ['tools/compose/check-compose.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.on('exit', (c) => res({ code: c ?? 1, out }));
});
const composeLines = compose.out.trim().split('\n');
console.log(`[test] compose check: ${composeLines[composeLines.length - 1]}`);
if (compose.code !== 0) console.log(compose.out);

let passed = compose.code === 0 ? 1 : 0, failed = compose.code === 0 ? 0 : 1, skipped = 0, suitesFailed = 0, projects = 0;
try {
  for (const f of readdirSync(resultsDir)) {
    const r = JSON.parse(readFileSync(join(resultsDir, f), 'utf8'));
    passed += r.passed; failed += r.failed; skipped += r.skipped; suitesFailed += r.suitesFailed + r.runtimeError; projects++;
  }
} catch { /* no results: nothing ran */ }
console.log(`\n[test] ${projects} projects, ${suitesFailed} failing suites, nx exit ${code}`);
if (code !== 0) console.log(`[test] nx reported failed tasks (lint, typecheck, build or test): see above`);
console.log(`Tests: ${passed} passed, ${failed + suitesFailed} failed, ${skipped} skipped`);
process.exit(code !== 0 ? code : failed > 0 ? 1 : 0);
