// Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}.

/**
 * An interpolator over `env` (compose reads the shell's environment; {} = the defaults only).
 * `noDefault` collects the variables that had neither a value nor a default.
 */
export function createInterpolator(env) {
  const noDefault = new Set();
  function interpolate(s) {
    return s.replace(
      /\$\$|\$\{([A-Za-z_]\w*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_]\w*)/g,
      (m, name, op, arg, bare) => {
        if (m === '$$') return '$';
        const key = name ?? bare;
        const val = env[key];
        const unset = val === undefined;
        const empty = unset || val === '';
        switch (op) {
          case ':-':
            return empty ? interpolate(arg) : val;
          case '-':
            return unset ? interpolate(arg) : val;
          case ':+':
            return empty ? '' : interpolate(arg);
          case '+':
            return unset ? '' : interpolate(arg);
          case ':?':
          case '?':
            if (op === ':?' ? empty : unset) noDefault.add(`${key} (${arg || 'required'})`);
            return val ?? '';
          default:
            if (unset) noDefault.add(key);
            return val ?? '';
        }
      },
    );
  }
  function deepInterpolate(v) {
    if (typeof v === 'string') return interpolate(v);
    if (Array.isArray(v)) return v.map(deepInterpolate);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepInterpolate(x)]));
    return v;
  }
  return { interpolate, deepInterpolate, noDefault };
}

/** Paths of the YAML merge keys (`<<`) a parser left in the document. */
export function findMergeKeys(doc) {
  const found = [];
  (function walk(v, path) {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === '<<') found.push(path);
        else walk(x, path ? `${path}.${k}` : k);
      }
  })(doc, '');
  return found;
}
