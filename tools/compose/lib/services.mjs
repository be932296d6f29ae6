// The compose services that run an app: command = Dockerfile CMD = start.mjs's command (the migrate
// job: start.mjs's migrate command), every environment variable declared by that app's config class
// (its own and its base classes'), every required one set, values of the declared types, hosts
// 0.0.0.0, healthcheck on /health/ready at the app's port.
import { defaultValue, valueProblem } from './config-classes.mjs';
import { asCommand, asDependsOn, asEnv, asPorts, asTest } from './normalize.mjs';
import { same, show } from './report.mjs';

export const WANTED_SERVICES = ['postgres', 'migrate', 'api', 'worker', 'mock-llamaparse', 'mock-openai'];

/** The app a service runs, from its command (`... dist/apps/<app>/main.js [args]`), or null. */
export function appOf(svc) {
  const cmd = asCommand(svc.command);
  const i = cmd?.findIndex((a) => /^dist\/apps\/[\w-]+\/main\.js$/.test(a)) ?? -1;
  if (i < 0) return null;
  return { app: cmd[i].split('/')[2], cmd, extra: cmd.slice(i + 1) };
}

/** Effective value of a variable in an app service: its environment, else the config class's default. */
/** Services that run someone else's image (the database; the object store of the s3 profile and its setup job). */
const INFRA_SERVICES = new Set(['postgres', 'minio', 'minio-setup']);

export function effective(s, name) {
  if (s.env[name] !== undefined) return s.env[name];
  const p = s.cfg?.props.get(name);
  return p ? defaultValue(p, s.cfg.consts) : undefined;
}

/**
 * Section "<file>: services" and one section per app service.
 * Returns service name -> { app, cmd, extra, env, cfg, role: 'app' | 'migrate', svc, port? }.
 */
export function checkServices({ root, file, services, apps, start, dockerfiles }, report) {
  const { check, section } = report;
  section(`${file}: services`);
  for (const s of WANTED_SERVICES) check(!!services[s], `service ${s} defined`);

  const appServices = new Map();
  for (const [name, svc] of Object.entries(services)) {
    const a = appOf(svc);
    if (!a) continue;
    const cfg = apps.get(a.app);
    const role = a.extra[0] === 'migrate' ? 'migrate' : 'app';
    appServices.set(name, { ...a, env: asEnv(svc.environment), cfg, role, svc });
  }
  for (const [name, svc] of Object.entries(services)) {
    if (!appServices.has(name) && !INFRA_SERVICES.has(name)) {
      check(false, `service ${name}: command runs dist/apps/<app>/main.js`, show(svc.command));
    }
  }
  check(
    !!services.api &&
      !!services.worker &&
      !!services['mock-llamaparse'] &&
      !!services['mock-openai'] &&
      ['api', 'worker', 'mock-llamaparse', 'mock-openai'].every((s) => appServices.get(s)?.app === s),
    'services api, worker, mock-llamaparse, mock-openai run their own app',
  );

  for (const [name, s] of appServices) checkAppService({ root, name, s, start, dockerfiles }, report);
  return appServices;
}

/** The checks of one service that runs an app (sets `s.port` for the stack checks). */
function checkAppService({ root, name, s, start, dockerfiles }, report) {
  const { check, section } = report;
  section(`service ${name} (${s.app}${s.role === 'migrate' ? ', migrate job' : ''})`);
  const { svc, cfg } = s;
  if (!check(!!cfg, `${name}: app ${s.app} has a config class`)) return;
  // command
  if (s.role === 'migrate') {
    check(s.app === 'api', `${name}: the migration runs the api bundle`);
    if (start)
      check(
        same(s.cmd, start.migrate),
        `${name}: command is start.mjs's migrate command`,
        `${show(s.cmd)} vs ${show(start.migrate)}`,
      );
    check(String(svc.restart ?? 'no') === 'no', `${name}: restart "no" (a one-shot job)`, show(svc.restart));
    check(
      asDependsOn(svc.depends_on).postgres === 'service_healthy',
      `${name}: depends on postgres being healthy`,
    );
  } else {
    const df = dockerfiles.get(s.app);
    check(
      same(s.cmd, df?.cmd),
      `${name}: command equals apps/${s.app}/Dockerfile CMD`,
      `${show(s.cmd)} vs ${show(df?.cmd)}`,
    );
    if (start)
      check(same(s.cmd, start.apps[s.app]), `${name}: command equals start.mjs's`, show(start.apps[s.app]));
    check(svc.restart === 'unless-stopped', `${name}: restart unless-stopped`, show(svc.restart));
  }
  // image build
  const dockerfile =
    typeof svc.build === 'object' ? svc.build?.dockerfile : svc.build ? 'Dockerfile' : undefined;
  const context = typeof svc.build === 'object' ? svc.build?.context : svc.build;
  check(
    dockerfile === `apps/${s.app}/Dockerfile` && ['.', './', root].includes(String(context)),
    `${name}: built from apps/${s.app}/Dockerfile with the repo root as context`,
    `context ${show(context)}, dockerfile ${show(dockerfile)}`,
  );
  // environment
  const unknown = Object.keys(s.env).filter((k) => !cfg.props.has(k));
  check(unknown.length === 0, `${name}: every variable is declared by ${cfg.className}`, unknown.join(', '));
  const missing = cfg.required.filter((p) => !s.env[p.name]).map((p) => p.name);
  const condMissing = [...cfg.props.values()]
    .filter(
      (p) => p.requiredWhen && effective(s, p.requiredWhen.name) === p.requiredWhen.value && !s.env[p.name],
    )
    .map((p) => `${p.name} (required with ${p.requiredWhen.name}=${p.requiredWhen.value})`);
  check(
    missing.length + condMissing.length === 0,
    `${name}: required variables set (${cfg.required.map((p) => p.name).join(', ') || 'none'})`,
    [...missing, ...condMissing].join(', '),
  );
  const bad = Object.entries(s.env)
    .filter(([k]) => cfg.props.has(k))
    .map(([k, v]) => [k, valueProblem(cfg.props.get(k), v)])
    .filter(([, p]) => p);
  check(
    bad.length === 0,
    `${name}: values fit the declared types`,
    bad.map(([k, p]) => `${k} ${p}`).join('; '),
  );
  // listening
  if (s.role === 'app') {
    if (cfg.hostProp)
      check(
        effective(s, cfg.hostProp.name) === '0.0.0.0',
        `${name}: ${cfg.hostProp.name}=0.0.0.0 (reachable from other containers)`,
        show(effective(s, cfg.hostProp.name)),
      );
    const port = effective(s, cfg.portProp.name);
    s.port = port;
    const hc = asTest(svc.healthcheck?.test);
    check(
      hc.includes('/health/ready') && hc.includes(`:${port}/`),
      `${name}: healthcheck on /health/ready at port ${port}`,
      hc || '(none)',
    );
    const ports = asPorts(svc.ports);
    check(
      ports.every((p) => p.container === port),
      `${name}: published ports target ${cfg.portProp.name}=${port}`,
      show(ports),
    );
    check(
      dockerfiles.get(s.app)?.exposed.includes(port),
      `${name}: port ${port} is the one its Dockerfile EXPOSEs`,
    );
  } else {
    check(
      svc.healthcheck?.disable === true || !svc.healthcheck,
      `${name}: no healthcheck for the one-shot job`,
    );
  }
  if (effective(s, 'DATABASE_URL') !== undefined && s.role === 'app') {
    check(
      asDependsOn(svc.depends_on).migrate === 'service_completed_successfully',
      `${name}: starts after migrate completed successfully`,
    );
    check(
      effective(s, 'DB_MIGRATE_ON_START') !== undefined,
      `${name}: DB_MIGRATE_ON_START decided`,
      'unset: the app migrates on start too',
    );
  }
}
