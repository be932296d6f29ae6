// The stack as a whole: pgvector postgres with pg_isready; the worker scalable (no fixed host port);
// api and worker share storage (same volume at STORAGE_LOCAL_ROOT, same signing secret), one
// DATABASE_URL and one embedding model/dimensions; URLs between containers name a service and its
// port, never loopback; no development secrets with NODE_ENV=production.
import { defaultValue } from './config-classes.mjs';
import { asEnv, asPorts, asTest, asVolumes } from './normalize.mjs';
import { show } from './report.mjs';
import { effective } from './services.mjs';

/** Variables holding the URL of another service, and the service they must reach. */
export const SERVICE_URL_VARS = {
  WEBHOOK_BASE_URL: 'api',
  LLAMAPARSE_BASE_URL: 'mock-llamaparse',
  OPENAI_BASE_URL: 'mock-openai',
};
/** The storage settings api and worker must agree on (StorageConfig's that decide where files are). */
export const SHARED_STORAGE_VARS = [
  'STORAGE_DRIVER',
  'STORAGE_LOCAL_ROOT',
  'STORAGE_SIGNING_SECRET',
  'PUBLIC_BASE_URL',
];
export const SHARED_EMBEDDING_VARS = ['EMBEDDING_MODEL', 'EMBEDDING_VERSION', 'EMBEDDING_DIMENSIONS'];

/** Section "<file>: the stack". */
export function checkStack({ file, compose, services, appServices }, report) {
  const { check, section } = report;
  section(`${file}: the stack`);
  const pg = services.postgres;
  if (pg) {
    check(/^pgvector\/pgvector:pg\d+/.test(String(pg.image)), 'postgres: pgvector image', pg.image);
    check(asTest(pg.healthcheck?.test).includes('pg_isready'), 'postgres: healthcheck with pg_isready');
    check(
      asVolumes(pg.volumes).some((v) => v.target === '/var/lib/postgresql/data'),
      'postgres: data on a volume',
    );
    check(pg.restart === 'unless-stopped', 'postgres: restart unless-stopped');
  }
  const worker = services.worker;
  if (worker) {
    const fixed = asPorts(worker.ports).filter((p) => p.host !== null);
    check(
      fixed.length === 0,
      'worker: no fixed host port (docker compose up --scale worker=N works)',
      show(fixed),
    );
    check(!worker.container_name, 'worker: no container_name (it would prevent scaling)');
  }
  const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, svc] of Object.entries(services)) {
    for (const v of asVolumes(svc.volumes)) {
      if (!v.source || v.source.startsWith('.') || v.source.startsWith('/')) continue;
      check(declaredVolumes.has(v.source), `${name}: volume ${v.source} declared at top level`);
    }
  }

  const running = [...appServices.entries()].filter(([, s]) => s.role === 'app');
  checkDatabaseShared({ services, appServices, pg }, report);
  checkStorageShared({ services, running, declaredVolumes }, report);
  checkServiceUrls({ running }, report);
  checkProductionSecrets({ appServices }, report);
}

const byApp = (running, app) => running.find(([, s]) => s.app === app);

/** One DATABASE_URL, at the postgres service with its credentials; one embedding model. */
function checkDatabaseShared({ services, appServices, pg }, report) {
  const { check } = report;
  const dbUsers = [...appServices.entries()].filter(([, s]) => s.cfg?.props.has('DATABASE_URL'));
  if (!dbUsers.length) return;
  const urls = new Set(dbUsers.map(([, s]) => effective(s, 'DATABASE_URL')));
  check(
    urls.size === 1,
    `DATABASE_URL identical in ${dbUsers.map(([n]) => n).join(', ')}`,
    [...urls].join(' / '),
  );
  try {
    const u = new URL([...urls][0]);
    check(
      !!services[u.hostname] && (u.port || '5432') === '5432',
      'DATABASE_URL points at the postgres service',
      u.host,
    );
    const pe = asEnv(pg?.environment);
    check(
      decodeURIComponent(u.username) === (pe.POSTGRES_USER ?? 'postgres') &&
        decodeURIComponent(u.password) === (pe.POSTGRES_PASSWORD ?? '') &&
        u.pathname.slice(1) === (pe.POSTGRES_DB ?? pe.POSTGRES_USER ?? 'postgres'),
      "DATABASE_URL's user, password and database are postgres's",
    );
  } catch (e) {
    check(false, 'DATABASE_URL is a URL', e.message);
  }
  for (const k of SHARED_EMBEDDING_VARS) {
    const vals = new Set(dbUsers.filter(([, s]) => s.cfg.props.has(k)).map(([, s]) => effective(s, k)));
    check(vals.size === 1, `${k} identical in ${dbUsers.map(([n]) => n).join(', ')}`, [...vals].join(' / '));
  }
}

/** The apps with storage settings agree on them and mount one volume there; PUBLIC_BASE_URL reaches the api. */
function checkStorageShared({ services, running, declaredVolumes }, report) {
  const { check } = report;
  const storers = running.filter(([, s]) => s.cfg.props.has('STORAGE_DRIVER'));
  if (!storers.length) return;
  for (const k of SHARED_STORAGE_VARS) {
    const vals = new Set(storers.map(([, s]) => effective(s, k)));
    check(vals.size === 1, `${k} identical in ${storers.map(([n]) => n).join(', ')}`, [...vals].join(' / '));
  }
  if (storers.every(([, s]) => effective(s, 'STORAGE_DRIVER') === 'local')) {
    const mounts = storers.map(([n, s]) =>
      asVolumes(services[n].volumes).find((v) => v.target === effective(s, 'STORAGE_LOCAL_ROOT')),
    );
    check(
      mounts.every((m) => m && declaredVolumes.has(m.source)) &&
        new Set(mounts.map((m) => m?.source)).size === 1,
      `one named volume mounted at STORAGE_LOCAL_ROOT in ${storers.map(([n]) => n).join(', ')}`,
      show(mounts),
    );
  }
  const api = byApp(running, 'api');
  if (api) {
    const pub = new URL(effective(api[1], 'PUBLIC_BASE_URL'));
    const published = asPorts(services[api[0]].ports).map((p) => p.host);
    if (['localhost', '127.0.0.1'].includes(pub.hostname)) {
      check(
        published.includes(pub.port || '80'),
        `PUBLIC_BASE_URL ${pub.origin} is the api's published port`,
        show(published),
      );
    }
  }
}

/** URLs from one container to another name a service and its port, never loopback. */
function checkServiceUrls({ running }, report) {
  const { check } = report;
  for (const [name, s] of running) {
    for (const [k, target] of Object.entries(SERVICE_URL_VARS)) {
      if (!s.cfg.props.has(k)) continue;
      const value = effective(s, k);
      let u;
      try {
        u = new URL(value);
      } catch {
        check(false, `${name}: ${k} is a URL`, value);
        continue;
      }
      const dest = byApp(running, target);
      const ok = !!dest && u.hostname === dest[0] && (u.port || '80') === dest[1].port;
      check(
        ok,
        `${name}: ${k}=${value} reaches service ${dest?.[0] ?? target} at its port ${dest?.[1].port ?? '?'}`,
      );
    }
    if (s.cfg.props.has('OPENAI_BASE_URL'))
      check(
        new URL(effective(s, 'OPENAI_BASE_URL')).pathname.replace(/\/$/, '') === '/v1',
        `${name}: OPENAI_BASE_URL ends in /v1`,
      );
  }
}

/**
 * The api exits 78 on development secrets with NODE_ENV=production (assertProductionSafe): a
 * variable left at a DEV_* constant default (from the app's file or a base class's) is a problem.
 */
function checkProductionSecrets({ appServices }, report) {
  const { check } = report;
  for (const [name, s] of appServices) {
    if (effective(s, 'NODE_ENV') !== 'production') continue;
    const devSecrets = [...s.cfg.consts.entries()].filter(([c]) => /^DEV_/.test(c));
    const used = [...s.cfg.props.values()].filter(
      (p) =>
        devSecrets.some(([c]) => p.defaultExpr === c) &&
        effective(s, p.name) === defaultValue(p, s.cfg.consts),
    );
    check(
      used.length === 0,
      `${name}: no development secret with NODE_ENV=production`,
      used.map((p) => p.name).join(', '),
    );
  }
}
