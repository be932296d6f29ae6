// Compose accepts several spellings of the same thing; these turn each into one shape.

/** environment: a list of `K=V` or a map -> { K: 'V' } (null values -> ''). */
export const asEnv = (e) =>
  Array.isArray(e)
    ? Object.fromEntries(
        e.map((x) => (x.includes('=') ? [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)] : [x, ''])),
      )
    : Object.fromEntries(
        Object.entries(e ?? {}).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]),
      );

/** command: a list or a string -> a list of strings (null when unset). */
export const asCommand = (c) =>
  c === undefined || c === null ? null : Array.isArray(c) ? c.map(String) : String(c).trim().split(/\s+/);

/** healthcheck test: a list or a string -> one string. */
export const asTest = (t) => (Array.isArray(t) ? t.join(' ') : String(t ?? ''));

/** ports: short (`"8000:8000/tcp"`) or long syntax -> [{ host, container }] (host null when not published). */
export function asPorts(ps) {
  return (ps ?? []).map((p) => {
    if (typeof p === 'object')
      return { host: p.published === undefined ? null : String(p.published), container: String(p.target) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return { host: parts.length > 1 ? parts[parts.length - 2] : null, container: parts[parts.length - 1] };
  });
}

/** depends_on: a list or a map -> { service: condition }. */
export function asDependsOn(d) {
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d ?? {}).map(([n, v]) => [n, v?.condition ?? 'service_started']));
}

/** volumes: short (`src:target`) or long syntax -> [{ source, target }]. */
export function asVolumes(vs) {
  return (vs ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source, target: v.target };
    const [source, target] = String(v).split(':');
    return { source, target };
  });
}
