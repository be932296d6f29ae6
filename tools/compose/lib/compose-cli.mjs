// The compose CLIs themselves, when installed (Debian's docker-compose v1, the docker compose v2 plugin).
import { spawnSync } from 'node:child_process';

function runCli({ root }, report, cmd, args, label) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  if (r.error && r.error.code === 'ENOENT') return report.note(`${label}: not installed, skipped`);
  if (r.error) return report.check(false, label, r.error.message);
  report.check(r.status === 0, label, (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | '));
}

/** `docker-compose -f <file> config -q` and `docker compose -f <file> config -q`, each skipped when not installed. */
export function checkComposeClis(ctx, report) {
  const { composePath, file } = ctx;
  report.section('compose CLIs');
  runCli(
    ctx,
    report,
    'docker-compose',
    ['-f', composePath, 'config', '-q'],
    `docker-compose -f ${file} config -q`,
  );
  const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (!v2.error && v2.status === 0)
    runCli(
      ctx,
      report,
      'docker',
      ['compose', '-f', composePath, 'config', '-q'],
      `docker compose -f ${file} config -q`,
    );
  else report.note('docker compose (v2 plugin): not installed, skipped');
}
